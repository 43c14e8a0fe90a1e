/* harness.h -- a tiny runner for the liveness tests (not part of the library).
 *
 * Every test here asserts that something RETURNS: a waiter wakes, a cycle is
 * broken, a forked child can use a cell, a timed wait ends on time.  On a
 * broken library such a test does not fail, it hangs.  So each case runs in
 * its own process (forked from the single-threaded runner), under a
 * watchdog: alarm() in the case, whose SIGALRM handler prints the case name
 * and what the case was waiting for (lv_stage), and a SIGKILL from the
 * runner a few seconds later if even that does not end it.  A hang is
 * therefore a named failure in bounded time, and one hung case cannot stop
 * the others.  Cases run concurrently by default (they mostly sleep); set
 * LV_SERIAL=1 to run them one after the other.
 *
 *   prog            run every case
 *   prog NAME...    run only those cases
 *   prog -l         list the cases
 *
 * Output: one line per case, "PASS name (0.21 s)", "FAIL name (...)" or
 * "SKIP name: reason", the case's own diagnostics before it, and a last line
 * "prog: N passed, N failed, N skipped".  Exit status 0 iff nothing failed.
 * Environment: LV_WATCHDOG (seconds, default 8).
 *
 * Not cmocka: cmocka's runner executes the tests of a group in one process,
 * so the first hang would take the whole group (and its report) with it. */
#ifndef LV_HARNESS_H
#define LV_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mt_common.h" /* mt_now_ns, mt_sleep_ms, MT_TSAN */

typedef struct lv_case {
    const char *name;
    void (*fn)(void);
    const char *what;       /* one line: what the case asserts */
} lv_case_t;

static const char *lv_case_name = "?";
/* What the case is doing right now; the watchdog prints it. */
static const char *volatile lv_stage = "starting";
static int lv_watchdog_s = 8;

/* Ends the process at once with `code`, bypassing atexit handlers and the
 * sanitizers' _exit interceptor (a failing case leaves threads running; that
 * is not a leak worth a report, and must not change the exit code). */
#define lv_exit_now(code) ((void)syscall(SYS_exit_group, (code)), _exit(code))

#define LV_EXIT_FAIL 1
#define LV_EXIT_HANG 3
#define LV_EXIT_SKIP 77

/* Writes one line (the case name first) with a single write(2), so lines of
 * concurrent cases do not interleave. */
static void lv_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void lv_say(const char *fmt, ...)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "  [%s] ", lv_case_name);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof buf)
        n += vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf - 1)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    if (write(1, buf, (size_t)n) < 0) { /* nothing to do */ }
}

#define LV_FAIL(...) do { \
        lv_say("FAIL at %s:%d:", __FILE__, __LINE__); \
        lv_say(__VA_ARGS__); \
        lv_exit_now(LV_EXIT_FAIL); \
    } while (0)
#define LV_CHECK(cond, ...) do { \
        if (!(cond)) { \
            lv_say("FAIL at %s:%d: %s", __FILE__, __LINE__, #cond); \
            lv_say(__VA_ARGS__); \
            lv_exit_now(LV_EXIT_FAIL); \
        } \
    } while (0)
#define LV_SKIP(...) do { lv_say("SKIP: " __VA_ARGS__); lv_exit_now(LV_EXIT_SKIP); } while (0)
#define LV_STAGE(s) (lv_stage = (s))

static void lv_put_(const char *s)
{
    if (write(2, s, strlen(s)) < 0) { /* nothing to do */ }
}

static void lv_on_alarm(int sig)
{
    (void)sig;
    /* async-signal-safe: write(2) and exit_group only */
    char num[16];
    int n = lv_watchdog_s, i = (int)sizeof num - 1;
    num[i] = '\0';
    do { num[--i] = (char)('0' + n % 10); n /= 10; } while (n && i > 0);
    lv_put_("  [");
    lv_put_(lv_case_name);
    lv_put_("] FAIL: HANG: watchdog fired after ");
    lv_put_(num + i);
    lv_put_(" s while: ");
    lv_put_((const char *)lv_stage);
    lv_put_("\n");
    lv_exit_now(LV_EXIT_HANG);
}

/* Arms the watchdog of the calling process (a forked child must call it
 * again: alarms are not inherited across fork). */
static void lv_arm_watchdog(int seconds)
{
    struct sigaction sa;
    lv_watchdog_s = seconds;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = lv_on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm((unsigned)seconds);
}

/* --- time --------------------------------------------------------------- */

/* An absolute CLOCK_MONOTONIC time ms from now, for condvars made by
 * lv_cond_init. */
static inline struct timespec lv_deadline(long ms)
{
    uint64_t t = mt_now_ns() + (uint64_t)ms * 1000000u;
    struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };
    return ts;
}

static inline void lv_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

/* Polls pred(arg) (a counter reaching a value, typically memo_stats().waits)
 * every millisecond for at most ms; 1 once it is true, 0 on time-out. */
static inline int lv_poll_until(int (*pred)(void *), void *arg, long ms)
{
    uint64_t end = mt_now_ns() + (uint64_t)ms * 1000000u;
    for (;;) {
        if (pred(arg))
            return 1;
        if (mt_now_ns() > end)
            return 0;
        mt_sleep_ms(1);
    }
}

/* --- a gate: a constructor blocks in it until the test opens it ------------ */

typedef struct lv_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    int entered;
} lv_gate_t;

static inline void lv_gate_init(lv_gate_t *g)
{
    pthread_mutex_init(&g->mu, NULL);
    lv_cond_init(&g->cv);
    g->open = 0;
    g->entered = 0;
}

/* From a constructor: announce arrival, block until opened. */
static inline void lv_gate_pass(lv_gate_t *g)
{
    pthread_mutex_lock(&g->mu);
    g->entered++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

/* From the test: 1 once n constructors are in the gate, 0 after ms. */
static inline int lv_gate_wait_entered(lv_gate_t *g, int n, long ms)
{
    struct timespec dl = lv_deadline(ms);
    int rc = 0;
    pthread_mutex_lock(&g->mu);
    while (g->entered < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&g->cv, &g->mu, &dl);
    int ok = g->entered >= n;
    pthread_mutex_unlock(&g->mu);
    return ok;
}

static inline void lv_gate_open(lv_gate_t *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* --- a thread whose end can be awaited with a timeout ---------------------- */

typedef struct lv_thread {
    pthread_t th;
    void (*fn)(void *);
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
} lv_thread_t;

static void *lv_thread_main_(void *p)
{
    lv_thread_t *t = (lv_thread_t *)p;
    t->fn(t->arg);
    pthread_mutex_lock(&t->mu);
    t->done = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static inline void lv_thread_start(lv_thread_t *t, void (*fn)(void *), void *arg)
{
    t->fn = fn;
    t->arg = arg;
    t->done = 0;
    pthread_mutex_init(&t->mu, NULL);
    lv_cond_init(&t->cv);
    int rc = pthread_create(&t->th, NULL, lv_thread_main_, t);
    LV_CHECK(rc == 0, "pthread_create: %d", rc);
}

/* 1 and joined if the thread's function returned within ms; else 0 (the
 * thread is left running: the case is failing anyway). */
static inline int lv_thread_join_within(lv_thread_t *t, long ms)
{
    struct timespec dl = lv_deadline(ms);
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    while (!t->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&t->cv, &t->mu, &dl);
    int done = t->done;
    pthread_mutex_unlock(&t->mu);
    if (done)
        pthread_join(t->th, NULL);
    return done;
}

/* --- children -------------------------------------------------------------- */

/* Waits at most ms for child pid; returns its wait status, or -1 after
 * killing it (SIGKILL) because it did not exit in time. */
static inline int lv_wait_child(pid_t pid, long ms)
{
    uint64_t end = mt_now_ns() + (uint64_t)ms * 1000000u;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            return -2;
        if (mt_now_ns() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        mt_sleep_ms(2);
    }
}

static inline void lv_describe_status(int st, char *buf, size_t n)
{
    if (st == -1)
        snprintf(buf, n, "did not exit in time, killed");
    else if (st == -2)
        snprintf(buf, n, "waitpid failed");
    else if (WIFEXITED(st))
        snprintf(buf, n, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, n, "status %#x", (unsigned)st);
}

/* --- the runner ------------------------------------------------------------ */

static int lv_main(int argc, char **argv, const lv_case_t *cases, size_t ncases)
{
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *w = getenv("LV_WATCHDOG");
    if (w && atoi(w) > 0)
        lv_watchdog_s = atoi(w);
    if (argc > 1 && strcmp(argv[1], "-l") == 0) {
        for (size_t i = 0; i < ncases; i++)
            printf("%-28s %s\n", cases[i].name, cases[i].what);
        return 0;
    }
    int serial = getenv("LV_SERIAL") != NULL;
    setvbuf(stdout, NULL, _IONBF, 0);

    size_t nsel = 0;
    const lv_case_t **sel = (const lv_case_t **)calloc(ncases + 1, sizeof *sel);
    for (size_t i = 0; i < ncases; i++) {
        int want = argc <= 1;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], cases[i].name) == 0)
                want = 1;
        if (want)
            sel[nsel++] = &cases[i];
    }
    if (argc > 1 && nsel != (size_t)(argc - 1)) {
        fprintf(stderr, "%s: unknown case name (see %s -l)\n", prog, prog);
        return 2;
    }
    pid_t *pid = (pid_t *)calloc(nsel + 1, sizeof *pid);
    uint64_t *t0 = (uint64_t *)calloc(nsel + 1, sizeof *t0);
    int passed = 0, failed = 0, skipped = 0;
    size_t next = 0, running = 0, finished = 0;
    const long kill_after_ms = (long)lv_watchdog_s * 1000 + 4000;

    while (finished < nsel) {
        /* start: all at once, or one at a time */
        while (next < nsel && (!serial || running == 0)) {
            fflush(stdout);
            pid_t p = fork();
            if (p < 0) {
                perror("fork");
                return 2;
            }
            if (p == 0) {
                lv_case_name = sel[next]->name;
                lv_arm_watchdog(lv_watchdog_s);
                sel[next]->fn();
                exit(0);   /* exit, not _exit: sanitizers report at exit */
            }
            pid[next] = p;
            t0[next] = mt_now_ns();
            next++;
            running++;
        }
        int st;
        pid_t r = waitpid(-1, &st, WNOHANG);
        size_t k;
        if (r <= 0) {
            /* the runner's own guard: a case that survived its alarm */
            for (k = 0; k < next; k++)
                if (pid[k] > 0 && mt_now_ns() - t0[k] > (uint64_t)kill_after_ms * 1000000u)
                    kill(pid[k], SIGKILL);
            mt_sleep_ms(5);
            continue;
        }
        for (k = 0; k < next && pid[k] != r; k++) { }
        if (k == next)
            continue; /* not ours */
        pid[k] = 0;
        running--;
        finished++;
        double secs = (double)(mt_now_ns() - t0[k]) / 1e9;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            printf("PASS %s (%.2f s)\n", sel[k]->name, secs);
            passed++;
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == LV_EXIT_SKIP) {
            printf("SKIP %s (%.2f s)\n", sel[k]->name, secs);
            skipped++;
        } else {
            char d[128];
            if (WIFEXITED(st) && WEXITSTATUS(st) == LV_EXIT_HANG)
                snprintf(d, sizeof d, "hang: watchdog, %d s", lv_watchdog_s);
            else if (WIFEXITED(st) && WEXITSTATUS(st) == LV_EXIT_FAIL)
                snprintf(d, sizeof d, "assertion");
            else
                lv_describe_status(st, d, sizeof d);
            printf("FAIL %s (%s, %.2f s) -- %s\n", sel[k]->name, d, secs, sel[k]->what);
            failed++;
        }
    }
    printf("%s: %d passed, %d failed, %d skipped\n", prog, passed, failed, skipped);
    free(sel);
    free(pid);
    free(t0);
    return failed ? 1 : 0;
}

#define LV_N(a) (sizeof(a) / sizeof((a)[0]))

#endif
