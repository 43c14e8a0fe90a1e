/* http.c -- one memoized libcurl easy handle: repeated GETs, one TCP connection.
 *
 *   ./http URL [N]          (or URL=http://127.0.0.1:8080/ ./http)
 *
 * GETs URL N times (default 20) with the handle that get_http memoizes and
 * prints each request's status, size, time and CURLINFO_NUM_CONNECTS (how many
 * new connections that transfer had to open).  An easy handle keeps its
 * connection open between transfers (HTTP/1.1 keep-alive), so reusing one
 * handle opens one connection for all N requests: the sum printed at the end
 * is 1 against a keep-alive server.  A failed transfer drops the handle, so
 * the next request starts with a fresh one.
 *
 * Each request holds a lease on the handle: memo_acquire on the cell
 * get_http_memo (it creates the handle on first use, as get_http() does),
 * memo_release after the transfer.  A failed transfer drops the handle with
 * memo_invalidate_lease(&lease), which drops exactly the handle this request
 * used: if another thread dropped it first and a new handle was created at
 * the same address, it returns EALREADY and leaves the new one alone (the
 * pointer form, memo_invalidate(m, h), could not tell them apart).  The
 * handle is cleaned up at the last memo_release, never under a transfer.
 *
 * An easy handle must not be used by two threads at once: this program is
 * single-threaded; a threaded one would guard the handle with a mutex.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "memo.h"

static int handles_created;

/* Write callback: counts the body's bytes into *(size_t *)userdata. */
static size_t count_body(char *data, size_t size, size_t n, void *userdata)
{
    (void)data;
    *(size_t *)userdata += size * n;
    return size * n;
}

static int open_http(CURL **out)
{
    CURL *h = curl_easy_init();
    if (!h)
        return ENOMEM;
    if (curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_body) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_USERAGENT, "memo-example/" MEMO_VERSION_STRING) != CURLE_OK) {
        curl_easy_cleanup(h);
        return EINVAL;
    }
    handles_created++;
    *out = h;
    return 0;
}

static void close_http(CURL *h)
{
    curl_easy_cleanup(h); /* closes the kept-alive connection */
}

MEMOIZE(static, get_http, CURL *, open_http, close_http, .retry_min_ms = 100);

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : getenv("URL");
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 20;
    if (!url || n <= 0) {
        fprintf(stderr, "usage: %s URL [N>0]   (or set URL)\n", argv[0]);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) { /* before any thread */
        fprintf(stderr, "curl_global_init failed\n");
        return 1;
    }
    long connects = 0;
    int failed = 0;
    for (long i = 1; i <= n; i++) {
        memo_lease_t lease;
        int err = memo_acquire(&get_http_memo, &lease); /* creates it like get_http() */
        if (err) {
            fprintf(stderr, "GET %ld: no handle: %s\n", i, strerror(err));
            failed++;
            continue;
        }
        CURL *h = lease.value;
        size_t bytes = 0;
        char errbuf[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &bytes);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        CURLcode rc = curl_easy_perform(h);
        long status = 0, nconn = 0;
        double secs = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn);
        curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL); /* errbuf goes out of scope */
        connects += nconn;
        if (rc != CURLE_OK) {
            fprintf(stderr, "GET %ld: %s: %s\n", i, curl_easy_strerror(rc),
                    errbuf[0] ? errbuf : "-");
            memo_invalidate_lease(&lease); /* start over with a fresh handle */
            memo_release(&lease);          /* curl_easy_cleanup: the last lease */
            failed++;
            continue;
        }
        memo_release(&lease);
        printf("GET %ld: HTTP %ld, %zu bytes, %.3f ms, new connections: %ld\n", i, status, bytes,
               secs * 1e3, nconn);
        failed += status >= 400;
    }
    printf("requests: %ld, handles created: %d, new connections in all (CURLINFO_NUM_CONNECTS): "
           "%ld, failed: %d\n",
           n, handles_created, connects, failed);
    memo_reset(&get_http_memo); /* curl_easy_cleanup */
    curl_global_cleanup();
    return failed ? 1 : 0;
}
