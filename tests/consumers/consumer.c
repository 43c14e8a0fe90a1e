/* consumer.c -- the tiny program tests/consumers/run.sh builds each way memo
 * can be consumed (pkg-config, find_package, add_subdirectory, FetchContent,
 * a Meson subproject, the header copied alone).  A MEMOIZE getter called from
 * two threads: built once, the same value for both.  Prints one line and
 * exits 0 when all holds.  `cc -std=c11 -pthread consumer.c`. */
#include <memo.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct { int answer; char name[16]; } config_t;

static int builds;
static int load_config(config_t *out) {
    builds++;
    out->answer = 42;
    strcpy(out->name, "memo");
    return 0;
}

/* static int get_config(config_t *out);  plus the cell get_config_memo */
MEMOIZE(static, get_config, config_t, load_config, NULL);

static void *reader(void *arg) {
    config_t c;
    *(int *)arg = get_config(&c) == 0 && c.answer == 42 ? 1 : 0;
    return NULL;
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "?";
    int in_thread = 0;
    pthread_t t;
    config_t c;
    if (pthread_create(&t, NULL, reader, &in_thread) != 0 || pthread_join(t, NULL) != 0) {
        printf("consumer (%s): FAILED: no thread\n", how);
        return 1;
    }
    int err = get_config(&c);
    if (err != 0 || !in_thread || c.answer != 42 || strcmp(c.name, "memo") != 0 || builds != 1) {
        printf("consumer (%s): FAILED: err=%d thread=%d answer=%d builds=%d\n", how, err, in_thread, c.answer, builds);
        return 1;
    }
    if (strcmp(MEMO_VERSION_STRING,
               STR(MEMO_VERSION_MAJOR) "." STR(MEMO_VERSION_MINOR) "." STR(MEMO_VERSION_PATCH)) != 0 ||
        MEMO_VERSION != MEMO_VERSION_MAJOR * 10000 + MEMO_VERSION_MINOR * 100 + MEMO_VERSION_PATCH) {
        printf("consumer (%s): FAILED: version macros disagree\n", how);
        return 1;
    }
    printf("consumer (%s): memo %s, getter built once, same value in two threads\n", how, MEMO_VERSION_STRING);
    return 0;
}
