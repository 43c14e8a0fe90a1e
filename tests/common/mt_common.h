/* mt_common.h -- what the tests, the benchmarks and the fuzzer share (not part
 * of the library): the real monotonic clock, a sleep that survives signals,
 * the CPU model, and which sanitizer the program is built with.
 *
 * C and C++.  The includer sets the feature macros (_GNU_SOURCE or
 * _POSIX_C_SOURCE >= 199309L) before its first system header. */
#ifndef MT_COMMON_H
#define MT_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* MT_TSAN / MT_ASAN: built with ThreadSanitizer / AddressSanitizer (gcc
 * defines __SANITIZE_*__, clang answers __has_feature). */
#if defined(__SANITIZE_THREAD__)
#define MT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MT_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MT_ASAN 1
#endif
#endif

/* CLOCK_MONOTONIC in nanoseconds.  (A test that fakes memo's clock with
 * MEMO_NOW_NS still reads the real one here.) */
static inline uint64_t mt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps ms milliseconds, resuming after a signal handler ran. */
static inline void mt_sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The "model name" line of /proc/cpuinfo, or "unknown". */
static inline void mt_cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t')
                    c++;
                c[strcspn(c, "\n")] = '\0';
                snprintf(buf, len, "%s", c);
            }
            break;
        }
    }
    fclose(f);
}

#endif
