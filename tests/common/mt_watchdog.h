/* mt_watchdog.h -- a watchdog for every test of a cmocka suite (not part of
 * the library).
 *
 * A broken memo.h often does not fail a test, it hangs it: a lost wake, a
 * missing EDEADLK check, a timed get without a deadline.  Run the group with
 * mt_run_tests(name, tests) instead of cmocka_run_group_tests_name: each
 * test is then armed when it starts and disarmed when it ends, and a test
 * still running after its limit ends the program with
 *
 *     [  HANG    ] test_name: still running after 10 s (watchdog)
 *     [  FAILED  ] 1 test(s), listed below:
 *     [  FAILED  ] test_name
 *
 * and exit status 3, in seconds instead of at the runner's timeout; the
 * processes the test forked are killed with it.
 *
 * The limit: MT_WATCHDOG_S seconds if set, else MT_WATCHDOG_DEFAULT_S (10 s;
 * a suite may define it before the include), three times that in a
 * sanitizer build or under valgrind (MEMO_TEST_LIGHT set).  A test that needs longer
 * says so first thing: mt_watchdog_slow(4) gives it 4 times that.  mt_wait_ms() is the bound
 * for a single wait inside a test (half the limit): a wait that ends without
 * its condition is asserted with a message, so it fails before the watchdog.
 *
 * Include after <cmocka.h> (and its prerequisites); needs pthreads. */
#ifndef MT_WATCHDOG_H
#define MT_WATCHDOG_H

#include "mt_common.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MT_WATCHDOG_EXIT 3
#ifndef MT_WATCHDOG_DEFAULT_S
#define MT_WATCHDOG_DEFAULT_S 10 /* a suite whose tests wait for servers sets more */
#endif

typedef struct mt_wd_test {
    const char *name;
    CMFixtureFunction setup, teardown;
    void *state;
} mt_wd_test_t;

static struct {
    const mt_wd_test_t *_Atomic cur;   /* the running test, NULL between tests */
    _Atomic uint64_t deadline_ns;      /* when cur hangs (mt_now_ns) */
    _Atomic unsigned limit_s;
    unsigned default_s;
    pthread_t th;
    int started;
} mt_wd;

static inline unsigned mt_watchdog_default_s_(void)
{
    const char *e = getenv("MT_WATCHDOG_S");
    if (e && atoi(e) > 0)
        return (unsigned)atoi(e);
#if defined(MT_TSAN) || defined(MT_ASAN)
    return 3 * MT_WATCHDOG_DEFAULT_S;
#else
    return getenv("MEMO_TEST_LIGHT") ? 3 * MT_WATCHDOG_DEFAULT_S : MT_WATCHDOG_DEFAULT_S;
#endif
}

/* The bound for one wait in a test, in ms: half the watchdog's limit. */
static inline long mt_wait_ms(void)
{
    unsigned s = mt_wd.default_s ? mt_wd.default_s : mt_watchdog_default_s_();
    return (long)s * 500;
}

static inline void mt_wd_put_(const char *s)
{
    if (write(1, s, strlen(s)) < 0) { /* nothing to do */ }
}

/* Kills the processes this one forked (a test's child that hangs too would
 * outlive us and keep the runner's pipe open): the pids listed in
 * /proc/self/task/TID/children. */
static inline void mt_wd_kill_children_(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        char path[64];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%.20s/children", e->d_name);
        FILE *f = fopen(path, "r");
        long pid;
        if (!f)
            continue;
        while (fscanf(f, "%ld", &pid) == 1)
            if (pid > 0)
                kill((pid_t)pid, SIGKILL);
        fclose(f);
    }
    closedir(d);
}

static inline void mt_wd_fire_(const mt_wd_test_t *t, unsigned limit)
{
    char buf[512];
    /* what cmocka buffered (the RUN lines) first, unless a hung thread holds
     * the stream */
    if (ftrylockfile(stdout) == 0) {
        fflush(stdout);
        funlockfile(stdout);
    }
    snprintf(buf, sizeof buf,
             "[  HANG    ] %s: still running after %u s (watchdog; MT_WATCHDOG_S sets the limit)\n"
             "[  FAILED  ] 1 test(s), listed below:\n"
             "[  FAILED  ] %s\n",
             t->name, limit, t->name);
    mt_wd_put_(buf);
    mt_wd_kill_children_();
    /* exit_group directly: not through atexit handlers or the sanitizers'
     * exit interceptors, which may wait for the hung threads */
#if defined(_GNU_SOURCE) || defined(_DEFAULT_SOURCE)
    (void)syscall(SYS_exit_group, MT_WATCHDOG_EXIT);
#endif
    _exit(MT_WATCHDOG_EXIT);
}

static inline void *mt_wd_main_(void *arg)
{
    (void)arg;
    for (;;) {
        mt_sleep_ms(50);
        const mt_wd_test_t *t = atomic_load(&mt_wd.cur);
        if (t && mt_now_ns() > atomic_load(&mt_wd.deadline_ns) && atomic_load(&mt_wd.cur) == t)
            mt_wd_fire_(t, atomic_load(&mt_wd.limit_s));
    }
    return NULL;
}

static inline void mt_wd_arm_(unsigned seconds)
{
    atomic_store(&mt_wd.limit_s, seconds);
    atomic_store(&mt_wd.deadline_ns, mt_now_ns() + (uint64_t)seconds * 1000000000u);
}

/* Gives the running test `factor` times the default limit from now (call it
 * first thing in a test that needs longer). */
static inline void mt_watchdog_slow(unsigned factor)
{
    mt_wd_arm_(factor * mt_wd.default_s);
}

static inline int mt_wd_setup_(void **state)
{
    const mt_wd_test_t *t = (const mt_wd_test_t *)*state;
    mt_wd_arm_(mt_wd.default_s);
    atomic_store(&mt_wd.cur, t);
    *state = t->state;
    return t->setup ? t->setup(state) : 0;
}

static inline int mt_wd_teardown_(void **state)
{
    const mt_wd_test_t *t = atomic_exchange(&mt_wd.cur, (const mt_wd_test_t *)NULL);
    return t && t->teardown ? t->teardown(state) : 0;
}

/* cmocka_run_group_tests_name(name, tests, NULL, NULL), each test under the
 * watchdog.  The tests' own setup, teardown and initial state are kept. */
#define mt_run_tests(group, tests) mt_run_tests_((group), (tests), sizeof(tests) / sizeof((tests)[0]))
static inline int mt_run_tests_(const char *group, const struct CMUnitTest *tests, size_t n)
{
    struct CMUnitTest *w = (struct CMUnitTest *)calloc(n, sizeof *w);
    mt_wd_test_t *t = (mt_wd_test_t *)calloc(n, sizeof *t);
    if (!w || !t) {
        fprintf(stderr, "mt_run_tests: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        t[i].name = tests[i].name;
        t[i].setup = tests[i].setup_func;
        t[i].teardown = tests[i].teardown_func;
        t[i].state = tests[i].initial_state;
        w[i] = tests[i];
        w[i].setup_func = mt_wd_setup_;
        w[i].teardown_func = mt_wd_teardown_;
        w[i].initial_state = &t[i];
    }
    mt_wd.default_s = mt_watchdog_default_s_();
    if (!mt_wd.started) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&mt_wd.th, &a, mt_wd_main_, NULL) != 0) {
            fprintf(stderr, "mt_run_tests: cannot start the watchdog thread\n");
            return 1;
        }
        pthread_attr_destroy(&a);
        mt_wd.started = 1;
    }
    int rc = _cmocka_run_group_tests(group, w, n, NULL, NULL);
    atomic_store(&mt_wd.cur, (const mt_wd_test_t *)NULL);
    free(w);
    free(t);
    return rc;
}

/* Spins (sched_yield) until cond holds; fails the test if it does not
 * within mt_wait_ms(). */
#define mt_wait_until(cond) do { \
        long mt_ms_ = mt_wait_ms(); \
        uint64_t mt_end_ = mt_now_ns() + (uint64_t)mt_ms_ * 1000000u; \
        while (!(cond)) { \
            if (mt_now_ns() > mt_end_) { \
                print_error("waited %ld ms for %s\n", mt_ms_, #cond); \
                fail(); \
            } \
            sched_yield(); \
        } \
    } while (0)

#ifdef _GNU_SOURCE
/* pthread_join, bounded by mt_wait_ms(): a thread that does not end in time
 * fails the test at the call site. */
#define mt_join(th, retval) mt_join_((th), (retval), "pthread_join(" #th ")", __FILE__, __LINE__)
static inline void mt_join_(pthread_t th, void **retval, const char *what, const char *file, int line)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long ms = mt_wait_ms();
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc = pthread_timedjoin_np(th, retval, &ts);
    if (rc != 0) {
        if (rc == ETIMEDOUT)
            print_error("%s: the thread did not end within %ld ms\n", what, ms);
        else
            print_error("%s: %s\n", what, strerror(rc));
        _fail(file, line);
    }
}
#endif

#endif
