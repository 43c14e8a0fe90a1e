/* handler.h -- the function that examples/lambda/bootstrap.c serves.
 *
 * The handler answers every event from one memoized database connection:
 * PostgreSQL (libpq) when DATABASE_URL is set, else SQLite (SQLITE_PATH, default
 * /tmp/memo-lambda.sqlite3).  The connection is opened on first use and reused
 * by every later (warm) invocation of the same process.
 *
 * Not thread-safe: the runtime handles one event at a time, as Lambda does. */
#ifndef MEMO_LAMBDA_HANDLER_H
#define MEMO_LAMBDA_HANDLER_H

#include <stddef.h>

/* handler_init: runs once, in the INIT phase.  Reads the configuration and
 * warms the connection; a database that cannot be reached yet is NOT an init
 * error (the first invocation retries).  Returns 0, or -1 with a message in
 * msg for a configuration that no retry can fix (a malformed DATABASE_URL). */
int handler_init(char *msg, size_t msglen);

/* handler_invoke: answers one event (a NUL-terminated JSON text; a "sleep_ms"
 * number in it, at most 10000, makes the invocation take that long, for the
 * shutdown test).  Returns a malloc'd JSON body and sets error_type to ""
 * (success: POST it to .../response) or to a Lambda error type (the body is an
 * error object: POST it to .../error).  Returns NULL only when out of memory. */
char *handler_invoke(const char *event, char *error_type, size_t typelen);

/* json_error: the malloc'd JSON error object {"errorMessage":msg,"errorType":type},
 * or NULL when out of memory. */
char *json_error(const char *type, const char *msg);

#endif
