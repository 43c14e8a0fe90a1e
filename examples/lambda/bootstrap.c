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
 * exits so that Lambda replaces the environment. */
#define _POSIX_C_SOURCE 200809L
#include "memo.h"
#include "handler.h"

#include <curl/curl.h>
#include <signal.h>
#include <strings.h>
#include <unistd.h>

#define MAX_EVENT_BYTES (6u * 1024 * 1024 + 4096) /* Lambda's 6 MB payload limit */
#define MAX_NEXT_FAILURES 30

/* --- the memoized Runtime API client --------------------------------------- */

typedef struct api {
    CURL *curl;
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
    *out = a;
    return 0;
}

static void close_api(api_t *a)
{
    curl_easy_cleanup(a->curl);
    free(a);
}

MEMOIZE(static, get_api, api_t *, open_api, close_api, .retry_min_ms = 100, .retry_max_ms = 2000);

/* --- one HTTP exchange ----------------------------------------------------- */

typedef struct reply {
    long status;         /* HTTP status, 0 if none */
    char *body;          /* NUL-terminated */
    size_t len, cap;
    char request_id[128];
} reply_t;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    reply_t *r = ud;
    size_t add = size * n;
    if (add > MAX_EVENT_BYTES - r->len)
        return 0; /* too big: curl fails with CURLE_WRITE_ERROR */
    if (r->len + add + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + add + 1)
            cap *= 2;
        char *p = realloc(r->body, cap);
        if (p == NULL)
            return 0;
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
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1, *end = data + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        size_t vlen = (size_t)(end - v);
        if (vlen >= sizeof r->request_id)
            vlen = 0; /* absurd: treated as missing */
        memcpy(r->request_id, v, vlen);
        r->request_id[vlen] = '\0';
    }
    return len;
}

/* The request id goes into a URL path: accept only what ids are made of. */
static int valid_request_id(const char *id)
{
    if (*id == '\0')
        return 0;
    for (; *id; id++)
        if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') ||
              (*id >= '0' && *id <= '9') || *id == '-' || *id == '_' || *id == '.'))
            return 0;
    return 1;
}

/* api_call: GET (body NULL) or POST `body` to base + path.  Returns 0 on a 2xx
 * answer; otherwise prints why on stderr and returns -1. */
static int api_call(const char *path, const char *body, const char *error_type, reply_t *rep,
                    long timeout_ms)
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
    curl_easy_reset(h); /* options only: the connection cache survives */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms); /* 0: none (next may wait hours) */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rep);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, rep);
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
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rep->status);
    curl_slist_free_all(hdrs);
    const char *method = body ? "POST" : "GET";
    if (rc != CURLE_OK) {
        fprintf(stderr, "memo-lambda: %s %s failed: %s\n", method, url,
                rc == CURLE_WRITE_ERROR ? "event too large or out of memory" : curl_easy_strerror(rc));
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
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* POSTs body, retrying transport errors and 5xx up to 3 times in all. */
static int post(const char *path, const char *body, const char *error_type)
{
    for (int attempt = 1;; attempt++) {
        reply_t rep = { 0 };
        int err = api_call(path, body, error_type, &rep, 10000);
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

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a closed socket is an error return, not a death */
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (api == NULL || *api == '\0') {
        fprintf(stderr, "memo-lambda: AWS_LAMBDA_RUNTIME_API is not set: "
                        "run me in AWS Lambda or a Lambda emulator\n");
        return 2;
    }
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

    for (unsigned failures = 0;;) {
        reply_t next = { 0 };
        int err = api_call("/invocation/next", NULL, NULL, &next, 0);
        if (err == 0 && !valid_request_id(next.request_id)) {
            fprintf(stderr, "memo-lambda: next invocation without a valid Lambda-Runtime-Aws-Request-Id\n");
            err = -1;
        }
        if (err != 0) {
            free(next.body);
            if (++failures >= MAX_NEXT_FAILURES) {
                fprintf(stderr, "memo-lambda: %u failed GET next in a row; exiting\n", failures);
                return 1;
            }
            pause_ms(failures >= 5 ? 2000 : 100L << (failures - 1));
            continue;
        }
        failures = 0;

        char error_type[64], path[256];
        char *body = handler_invoke(next.body ? next.body : "", error_type, sizeof error_type);
        if (body == NULL) {
            snprintf(error_type, sizeof error_type, "Runtime.OutOfMemory");
            body = json_error(error_type, "out of memory");
        }
        snprintf(path, sizeof path, "/invocation/%s/%s", next.request_id,
                 error_type[0] ? "error" : "response");
        post(path, body ? body : "{}", error_type[0] ? error_type : NULL);
        free(body);
        free(next.body);
    }
}
