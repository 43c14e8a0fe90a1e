/* bootstrap.c -- an AWS Lambda custom runtime in C (runtime `provided.al2023`).
 *
 * Lambda starts this program (it must be named `bootstrap`) once per execution
 * environment and keeps it alive between invocations.  It loops over the
 * Runtime API at $AWS_LAMBDA_RUNTIME_API:
 *
 *     GET  /2018-06-01/runtime/invocation/next          -> the event, and its
 *                                                         Lambda-Runtime-Aws-Request-Id
 *     POST /2018-06-01/runtime/invocation/{id}/response  <- the answer, or
 *     POST /2018-06-01/runtime/invocation/{id}/error     <- {"errorMessage","errorType"}
 *     POST /2018-06-01/runtime/init/error                <- if initialization fails
 *
 * The libcurl handle that talks to the Runtime API is memoized like any other
 * client: built on first use, reused for every request (and its keep-alive
 * connection with it).  A Runtime API call that fails is reported on stderr and
 * the loop goes on: a POST is retried a few times, a failed GET waits before the
 * next one (100 ms doubling to 2 s) and after 30 failures in a row the runtime
 * exits so that Lambda replaces the environment.
 *
 * What the runtime does not take from the Runtime API (see README.md):
 *   - a request id it cannot put in a URL path as it is: empty, longer than
 *     MAX_ID_LEN, with a byte outside [A-Za-z0-9._-], without a letter or digit
 *     ("." and ".." are dot segments), or two different ids in one answer.  The
 *     event is skipped (logged on stderr): no error can be posted for an id that
 *     will not go into a path.  Every URL is also sent as built
 *     (CURLOPT_PATH_AS_IS), so libcurl never rewrites a path;
 *   - an event that is not received whole: larger than Lambda's 6 MiB, headers
 *     over MAX_HEADER_BYTES, the connection lost, or not complete within
 *     $MEMO_LAMBDA_EVENT_READ_MS (default 5000) of the answer's first byte.  The
 *     wait for that first byte -- the long poll -- has no limit.  When the
 *     answer carried a valid id, the invocation gets an error POST at once
 *     instead of waiting for its timeout.
 *
 * Shutdown (README.md, "Shutdown"): Lambda sends SIGTERM when it shuts the
 * execution environment down, then SIGKILL once the grace period is over.
 * SIGTERM is blocked in every thread from the first line of main and read
 * from a signalfd, which the loop looks at only where no invocation is in
 * flight: while it waits for the first byte of the next event (the long poll
 * is abandoned), during the pause after a failed GET, and before each GET.
 * Then memo_shutdown() destroys every memoized value (the database connection:
 * PQfinish sends Terminate; the libcurl handle), one line is logged, and the
 * runtime exits 0.  An invocation in flight -- from the first byte of its
 * event to the answer's POST -- is finished first. */
#define _POSIX_C_SOURCE 200809L
#include "memo.h"
#include "handler.h"

#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#if LIBCURL_VERSION_NUM < 0x074200
#error "libcurl >= 7.66 needed (curl_multi_poll with extra file descriptors)"
#endif

#define MAX_EVENT_BYTES 6291456          /* Lambda's limit on an invocation payload: 6 MiB */
#define MAX_HEADER_BYTES 65536           /* all the header lines of one answer */
#define MAX_ID_LEN 128                   /* Lambda's ids are UUIDs: 36 characters */
#define DEFAULT_EVENT_READ_MS 5000L
#define MAX_NEXT_FAILURES 30
#define TEXT_OF_(x) #x
#define TEXT_OF(x) TEXT_OF_(x)

/* --- the memoized Runtime API client --------------------------------------- */

typedef struct api {
    CURL *curl;
    CURLM *multi;   /* runs every exchange, so that a long poll can be abandoned */
    char base[256]; /* http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime */
} api_t;

static int open_api(api_t **out)
{
    const char *host = getenv("AWS_LAMBDA_RUNTIME_API");
    if (host == NULL || *host == '\0')
        return EDESTADDRREQ;
    api_t *a = calloc(1, sizeof *a);
    if (a == NULL)
        return ENOMEM;
    int n = snprintf(a->base, sizeof a->base, "http://%s/2018-06-01/runtime", host);
    if (n < 0 || (size_t)n >= sizeof a->base) {
        free(a);
        return ENAMETOOLONG;
    }
    if ((a->curl = curl_easy_init()) == NULL) {
        free(a);
        return ENOMEM;
    }
    if ((a->multi = curl_multi_init()) == NULL) {
        curl_easy_cleanup(a->curl);
        free(a);
        return ENOMEM;
    }
    *out = a;
    return 0;
}

static void close_api(api_t *a)
{
    curl_multi_cleanup(a->multi); /* its connection cache: the keep-alive connection */
    curl_easy_cleanup(a->curl);
    free(a);
}

MEMOIZE(static, get_api, api_t *, open_api, close_api, .retry_min_ms = 100, .retry_max_ms = 2000);

/* --- SIGTERM --------------------------------------------------------------- */

/* A signalfd for SIGTERM (blocked in every thread), or -1: then SIGTERM keeps
 * its default action and kills the runtime at once. */
static int stop_fd = -1;

/* First thing in main, before libcurl or libpq can start a thread (threads
 * inherit the mask): SIGTERM is blocked, so it is never delivered to a
 * handler nor kills the process; it stays pending and makes stop_fd readable. */
static void catch_sigterm(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    int err = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (err != 0) {
        fprintf(stderr, "memo-lambda: cannot block SIGTERM (%s): no clean shutdown\n", strerror(err));
        return;
    }
    stop_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (stop_fd < 0) {
        fprintf(stderr, "memo-lambda: signalfd: %s: no clean shutdown\n", strerror(errno));
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    }
}

static long ms_since(const struct timespec *t0);
static void pause_ms(long ms);

/* Waits up to ms for SIGTERM; 1 as soon as it is pending, else 0 after ms.
 * ms == 0: just looks. */
static int sigterm_within(long ms)
{
    if (stop_fd < 0) {
        pause_ms(ms);
        return 0;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long left = ms - ms_since(&t0);
        struct pollfd p = { .fd = stop_fd, .events = POLLIN };
        int n = poll(&p, 1, left > 0 ? (int)left : 0);
        if (n > 0)
            return 1;
        if (n == 0 || errno != EINTR)
            return 0;
    }
}

/* --- one HTTP exchange ----------------------------------------------------- */

/* Why an answer was cut short by the runtime itself (curl's error says the rest). */
typedef enum cut { CUT_NONE, CUT_TOO_LARGE, CUT_TOO_SLOW, CUT_HEADERS_TOO_LARGE, CUT_NO_MEMORY } cut_t;

typedef struct reply {
    /* in */
    long read_ms;        /* the whole answer within this of its first byte; 0: no limit */
    /* out */
    CURLcode rc;
    long status;         /* HTTP status, 0 if none */
    char *body;          /* NUL-terminated (may hold other NULs: len is the truth) */
    size_t len, cap;
    int answered;        /* a status line arrived ... */
    struct timespec answered_at; /* ... then (CLOCK_MONOTONIC) */
    size_t header_bytes;
    cut_t cut;
    /* Lambda-Runtime-Aws-Request-Id as received: its first MAX_ID_LEN bytes
     * (any bytes, NUL included), its full length, how many such headers. */
    char id[MAX_ID_LEN + 1];
    size_t id_len;
    int ids;
    int id_conflict;     /* two different values, or a folded (continued) line */
    int last_was_id;
} reply_t;

static long ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - t0->tv_sec) * 1000L + (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* True (and notes it) once an answer has been coming for longer than allowed.
 * Before the status line nothing is late: that is the long poll. */
static int too_slow(reply_t *r)
{
    if (!r->answered || r->read_ms <= 0 || ms_since(&r->answered_at) < r->read_ms)
        return 0;
    r->cut = CUT_TOO_SLOW;
    return 1;
}

/* libcurl calls this about once a second even when nothing arrives. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return too_slow(ud); /* non-zero: CURLE_ABORTED_BY_CALLBACK */
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    reply_t *r = ud;
    size_t add = size * n;
    if (too_slow(r))
        return 0; /* curl fails with CURLE_WRITE_ERROR */
    if (add > (size_t)MAX_EVENT_BYTES - r->len) {
        r->cut = CUT_TOO_LARGE;
        return 0;
    }
    if (r->len + add + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + add + 1)
            cap *= 2;
        char *p = realloc(r->body, cap);
        if (p == NULL) {
            r->cut = CUT_NO_MEMORY;
            return 0;
        }
        r->body = p;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    static const char name[] = "Lambda-Runtime-Aws-Request-Id:";
    reply_t *r = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* A status line starts an answer (a 1xx may come before the real one):
         * what an earlier one said does not count.  The clock starts at the first. */
        r->id_len = 0;
        r->ids = r->id_conflict = r->last_was_id = 0;
        r->header_bytes = 0;
        if (!r->answered) {
            r->answered = 1;
            clock_gettime(CLOCK_MONOTONIC, &r->answered_at);
        }
    }
    r->header_bytes += len;
    if (r->header_bytes > (size_t)MAX_HEADER_BYTES) {
        r->cut = CUT_HEADERS_TOO_LARGE;
        return 0; /* curl fails with CURLE_WRITE_ERROR */
    }
    if (too_slow(r))
        return 0;
    if (len > 0 && (data[0] == ' ' || data[0] == '\t')) {
        /* obs-fold: this line continues the previous header's value.  An id
         * split that way is not taken apart. */
        if (r->last_was_id)
            r->id_conflict = 1;
        return len;
    }
    r->last_was_id = 0;
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1, *end = data + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        /* The line ends in CRLF (or LF); then optional whitespace goes.  A CR
         * or LF anywhere else stays in the value, and the value is refused. */
        if (end > v && end[-1] == '\n')
            end--;
        if (end > v && end[-1] == '\r')
            end--;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t vlen = (size_t)(end - v), keep = vlen < MAX_ID_LEN ? vlen : MAX_ID_LEN;
        if (r->ids > 0 && (vlen != r->id_len || memcmp(r->id, v, keep) != 0))
            r->id_conflict = 1;
        memcpy(r->id, v, keep);
        r->id[keep] = '\0';
        r->id_len = vlen;
        r->ids++;
        r->last_was_id = 1;
    }
    return len;
}

static int id_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

/* The id as text for a log line: printable ASCII as is, anything else as \xNN
 * (a CR or LF in an id must not forge log lines), at most 48 bytes shown. */
static void id_for_log(const reply_t *r, char *out, size_t outlen)
{
    size_t shown = r->id_len < 48 ? r->id_len : 48, w = 0;
    for (size_t i = 0; i < shown && w + 5 < outlen; i++) {
        unsigned char c = (unsigned char)r->id[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            out[w++] = (char)c;
        else
            w += (size_t)snprintf(out + w, outlen - w, "\\x%02x", c);
    }
    if (shown < r->id_len && w + 4 < outlen) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w] = '\0';
}

/* NULL if the answer's request id can go into a URL path as it is; else why not.
 * Lambda's ids are UUIDs; an id must have a letter or digit, so that "." and
 * ".." -- dot segments, which a URL resolver removes -- never reach a path. */
static const char *id_problem(const reply_t *r)
{
    if (r->ids == 0)
        return "no such header";
    if (r->id_conflict)
        return "two different values, or a value folded over lines";
    if (r->id_len == 0)
        return "empty";
    if (r->id_len > MAX_ID_LEN)
        return "longer than " TEXT_OF(MAX_ID_LEN) " bytes";
    int alnum = 0;
    for (size_t i = 0; i < r->id_len; i++) {
        unsigned char c = (unsigned char)r->id[i];
        if (!id_byte_ok(c))
            return "a byte outside [A-Za-z0-9._-]";
        alnum |= c != '-' && c != '_' && c != '.';
    }
    return alnum ? NULL : "no letter or digit";
}

static const char *cut_text(const reply_t *r, char *buf, size_t buflen)
{
    switch (r->cut) {
    case CUT_TOO_LARGE:
        return "the event is larger than Lambda's limit of " TEXT_OF(MAX_EVENT_BYTES) " bytes";
    case CUT_TOO_SLOW:
        snprintf(buf, buflen, "the event did not arrive within %ld ms of the answer's first byte",
                 r->read_ms);
        return buf;
    case CUT_HEADERS_TOO_LARGE:
        return "the answer's headers are larger than " TEXT_OF(MAX_HEADER_BYTES) " bytes";
    case CUT_NO_MEMORY:
        return "out of memory";
    case CUT_NONE:
        break;
    }
    if (r->rc == CURLE_FILESIZE_EXCEEDED) /* told by Content-Length, before the body */
        return "the event is larger than Lambda's limit of " TEXT_OF(MAX_EVENT_BYTES) " bytes";
    return curl_easy_strerror(r->rc);
}

#define API_STOPPED 1 /* api_call: abandoned for SIGTERM before any answer began */

/* Runs the exchange prepared on a->curl through a->multi and sets rep->rc.
 * With watch_stop, stop_fd is watched too, as long as no answer has begun: a
 * SIGTERM then abandons the exchange (returns API_STOPPED; removing the
 * handle closes its connection).  Once the first byte of an answer is in, the
 * event is an invocation and is received to its end. */
static int run_exchange(api_t *a, reply_t *rep, int watch_stop)
{
    CURLM *m = a->multi;
    CURL *h = a->curl;
    CURLMcode mc = curl_multi_add_handle(m, h);
    int running = 1, stopped = 0;
    while (mc == CURLM_OK) {
        mc = curl_multi_perform(m, &running);
        if (mc != CURLM_OK || !running)
            break;
        int watch = watch_stop && stop_fd >= 0 && !rep->answered;
        struct curl_waitfd w = { .fd = stop_fd, .events = CURL_WAIT_POLLIN, .revents = 0 };
        mc = curl_multi_poll(m, watch ? &w : NULL, watch ? 1u : 0u, 1000, NULL);
        if (mc == CURLM_OK && watch && (w.revents & CURL_WAIT_POLLIN)) {
            /* Take in what has arrived already: an answer that has begun is
             * an invocation, which is finished first. */
            mc = curl_multi_perform(m, &running);
            if (mc == CURLM_OK && running && !rep->answered) {
                stopped = 1;
                break;
            }
        }
    }
    rep->rc = CURLE_ABORTED_BY_CALLBACK;
    if (mc != CURLM_OK) {
        fprintf(stderr, "memo-lambda: libcurl multi: %s\n", curl_multi_strerror(mc));
        rep->rc = CURLE_FAILED_INIT;
    } else if (!stopped) {
        CURLMsg *msg;
        int queued;
        while ((msg = curl_multi_info_read(m, &queued)) != NULL)
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
                rep->rc = msg->data.result;
    }
    curl_multi_remove_handle(m, h);
    return stopped ? API_STOPPED : 0;
}

/* api_call: GET (body NULL) or POST `body` to base + path.  Returns 0 on a 2xx
 * answer received whole; API_STOPPED if watch_stop and SIGTERM came before
 * any answer began; otherwise prints why on stderr and returns -1 (rep says
 * how far it got). */
static int api_call(const char *path, const char *body, const char *error_type, reply_t *rep,
                    long timeout_ms, int watch_stop)
{
    api_t *a;
    int err = get_api(&a);
    if (err != 0) {
        fprintf(stderr, "memo-lambda: Runtime API client unavailable: %s\n", strerror(err));
        return -1;
    }
    char url[512], type_hdr[160];
    snprintf(url, sizeof url, "%s%s", a->base, path);
    snprintf(type_hdr, sizeof type_hdr, "Lambda-Runtime-Function-Error-Type: %s",
             error_type ? error_type : "");
    const char *hdr_text[] = { "Content-Type: application/json", "Expect:",
                               error_type ? type_hdr : NULL };
    struct curl_slist *hdrs = NULL;

    CURL *h = a->curl;
    curl_easy_reset(h); /* options only: the connection cache (the multi's) survives */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* no dot-segment removal: the path as built */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms); /* 0: none (next may wait hours) */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rep);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, rep);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, rep);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    /* A Content-Length over the limit fails before the body is read. */
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_EVENT_BYTES);
    if (body != NULL) {
        for (size_t i = 0; i < sizeof hdr_text / sizeof hdr_text[0] && hdr_text[i]; i++) {
            struct curl_slist *more = curl_slist_append(hdrs, hdr_text[i]);
            if (more == NULL) {
                curl_slist_free_all(hdrs);
                fprintf(stderr, "memo-lambda: POST %s: out of memory\n", url);
                return -1;
            }
            hdrs = more;
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    int stopped = run_exchange(a, rep, watch_stop);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rep->status);
    curl_slist_free_all(hdrs);
    if (stopped)
        return API_STOPPED;
    const char *method = body ? "POST" : "GET";
    if (rep->rc != CURLE_OK) {
        char buf[128];
        fprintf(stderr, "memo-lambda: %s %s failed: %s\n", method, url, cut_text(rep, buf, sizeof buf));
        return -1;
    }
    if (rep->status / 100 != 2) {
        fprintf(stderr, "memo-lambda: %s %s: HTTP %ld %.200s\n", method, url, rep->status,
                rep->body ? rep->body : "");
        return -1;
    }
    return 0;
}

static void pause_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The n-th pause in a row (n >= 1): 100 ms doubling to 2 s. */
static long backoff_ms(unsigned n)
{
    return n >= 5 ? 2000 : 100L << (n - 1);
}

/* POSTs body, retrying transport errors and 5xx up to 3 times in all. */
static int post(const char *path, const char *body, const char *error_type)
{
    for (int attempt = 1;; attempt++) {
        reply_t rep = { 0 };
        int err = api_call(path, body, error_type, &rep, 10000, 0); /* not abandoned for SIGTERM */
        free(rep.body);
        if (err == 0)
            return 0;
        if (attempt == 3 || (rep.status >= 400 && rep.status < 500)) {
            fprintf(stderr, "memo-lambda: giving up on POST %s\n", path);
            return -1;
        }
        pause_ms(50L << attempt);
    }
}

/* $MEMO_LAMBDA_EVENT_READ_MS, or the default when unset or not in 1..600000. */
static long event_read_ms(void)
{
    const char *s = getenv("MEMO_LAMBDA_EVENT_READ_MS");
    if (s == NULL || *s == '\0')
        return DEFAULT_EVENT_READ_MS;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > 600000) {
        fprintf(stderr, "memo-lambda: MEMO_LAMBDA_EVENT_READ_MS=%.40s ignored (1..600000); using %ld\n",
                s, DEFAULT_EVENT_READ_MS);
        return DEFAULT_EVENT_READ_MS;
    }
    return v;
}

/* The event arrived with a usable id but not whole: tell Lambda now rather
 * than let the invocation wait for its timeout. */
static void report_unread_event(const reply_t *next)
{
    char buf[128], path[256];
    const char *why = cut_text(next, buf, sizeof buf);
    const char *type = next->cut == CUT_TOO_LARGE || next->rc == CURLE_FILESIZE_EXCEEDED
                           ? "Runtime.EventTooLarge"
                       : next->cut == CUT_TOO_SLOW ? "Runtime.EventTooSlow"
                                                   : "Runtime.EventNotReceived";
    fprintf(stderr, "memo-lambda: invocation %s: event not received (%s); reporting %s\n",
            next->id, why, type);
    char *body = json_error(type, why);
    snprintf(path, sizeof path, "/invocation/%s/error", next->id);
    post(path, body ? body : "{}", type);
    free(body);
}

/* SIGTERM, and no invocation in flight: destroy every memoized value and exit.
 *
 * Called only from the loop below, between invocations -- never from a
 * signal handler: memo_shutdown() takes locks and runs destructors (PQfinish
 * frees memory and writes to a socket), none of it async-signal-safe; a
 * handler that ran it while the interrupted code held memo's registry lock or
 * was inside malloc would deadlock or corrupt the heap.  Nor from a watcher
 * thread: it would run while the handler uses the connection, and exit while
 * the answer is not yet posted.  The runtime is one thread doing one thing at
 * a time, so here no get, lease or destructor of any cell can be running:
 * nothing to race with. */
static int shut_down(void)
{
    struct signalfd_siginfo si;
    long sender = -1;
    if (read(stop_fd, &si, sizeof si) == (ssize_t)sizeof si)
        sender = (long)si.ssi_pid;
    int rc = memo_shutdown(); /* newest first: the Runtime API client, then the database */
    fprintf(stderr, "memo-lambda[%ld]: SIGTERM (from pid %ld) with no invocation in flight: "
                    "memo_shutdown() returned %d (%s); exiting 0\n", (long)getpid(), sender, rc,
            rc == 0 ? "every memoized value destroyed" : strerror(rc));
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    catch_sigterm(); /* before any thread exists */
    signal(SIGPIPE, SIG_IGN); /* a closed socket is an error return, not a death */
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (api == NULL || *api == '\0') {
        fprintf(stderr, "memo-lambda: AWS_LAMBDA_RUNTIME_API is not set: "
                        "run me in AWS Lambda or a Lambda emulator\n");
        return 2;
    }
    long read_ms = event_read_ms();
    char msg[512];
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "memo-lambda: curl_global_init failed\n");
        return 1;
    }
    if (handler_init(msg, sizeof msg) != 0) {
        fprintf(stderr, "memo-lambda[%ld]: init failed: %s\n", (long)getpid(), msg);
        char *body = json_error("Runtime.InitError", msg);
        post("/init/error", body ? body : "{}", "Runtime.InitError");
        free(body);
        return 1; /* Lambda expects the runtime to exit after an init error */
    }
    fprintf(stderr, "memo-lambda[%ld]: ready\n", (long)getpid());

    for (unsigned failures = 0, refused = 0;;) {
        /* Between invocations: the last answer is posted, the next event not
         * asked for.  A SIGTERM that came during the invocation (or INIT)
         * is found here. */
        if (sigterm_within(0))
            return shut_down();
        reply_t next = { .read_ms = read_ms };
        /* The long poll: abandoned for SIGTERM until an answer begins. */
        int err = api_call("/invocation/next", NULL, NULL, &next, 0, 1);
        if (err == API_STOPPED) {
            free(next.body);
            return shut_down();
        }
        if (!next.answered || next.status / 100 != 2) {
            /* No event: the API is down, restarting or failing.  Wait a bit. */
            free(next.body);
            if (++failures >= MAX_NEXT_FAILURES) {
                fprintf(stderr, "memo-lambda: %u failed GET next in a row; exiting\n", failures);
                memo_shutdown(); /* the database connection too ends politely */
                return 1;
            }
            sigterm_within(backoff_ms(failures)); /* cut short by SIGTERM */
            continue;
        }
        failures = 0;

        const char *bad = id_problem(&next);
        if (bad != NULL) {
            /* Skipped: the invocation, if there is one, times out.  Unusable
             * events in a row are taken more and more slowly (not in a loop). */
            char shown[256] = "";
            if (next.ids > 0)
                id_for_log(&next, shown, sizeof shown);
            fprintf(stderr, "memo-lambda: event skipped: answered without a valid "
                            "Lambda-Runtime-Aws-Request-Id (%s%s%s%s)\n", next.ids ? "\"" : "", shown,
                    next.ids ? "\": " : "", bad);
            free(next.body);
            if (++refused > 1)
                sigterm_within(backoff_ms(refused - 1)); /* cut short by SIGTERM */
            continue;
        }
        refused = 0;
        if (err != 0) {
            report_unread_event(&next);
            free(next.body);
            continue;
        }

        char error_type[64], path[256];
        char *body = handler_invoke(next.body ? next.body : "", error_type, sizeof error_type);
        if (body == NULL) {
            snprintf(error_type, sizeof error_type, "Runtime.OutOfMemory");
            body = json_error(error_type, "out of memory");
        }
        snprintf(path, sizeof path, "/invocation/%s/%s", next.id,
                 error_type[0] ? "error" : "response");
        post(path, body ? body : "{}", error_type[0] ? error_type : NULL);
        free(body);
        free(next.body);
    }
}
