/* replay.c -- runs fuzz_cell.c's LLVMFuzzerTestOneInput over files without
 * libFuzzer, so the seed corpus runs under any compiler and sanitizer
 * (ASan+UBSan, TSan) in `make test`.  A violation aborts the process.
 *   replay [-r REPEAT] FILE|DIR...   (a DIR: each regular file in it, sorted)
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int repeat = 1;
static int ninputs;

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = (uint8_t *)realloc(buf, cap);
            if (!buf)
                exit(2);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    for (int i = 0; i < repeat; i++)
        LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    ninputs++;
}

static int is_file(const struct dirent *d) { return d->d_name[0] != '.'; }

int main(int argc, char **argv)
{
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "-r") == 0) {
        repeat = atoi(argv[2]);
        i = 3;
    }
    if (i >= argc || repeat < 1) {
        fprintf(stderr, "usage: replay [-r REPEAT] FILE|DIR...\n");
        return 2;
    }
    for (; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 2;
        }
        if (!S_ISDIR(st.st_mode)) {
            run_file(argv[i]);
            continue;
        }
        struct dirent **list;
        int n = scandir(argv[i], &list, is_file, alphasort);
        if (n < 0) {
            perror(argv[i]);
            return 2;
        }
        for (int j = 0; j < n; j++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], list[j]->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                run_file(path);
            free(list[j]);
        }
        free(list);
    }
    printf("replay: %d inputs x %d, 0 failures\n", ninputs, repeat);
    return 0;
}
