/* bench/stepcount.c -- count the user-space instructions a program executes
 * between marks, natively, by single-stepping it with ptrace(2).
 *
 *     stepcount PROGRAM [ARGS...]
 *
 * Runs PROGRAM under ptrace; every raise(SIGSTOP) in it is a mark.  From an
 * odd-numbered mark to the next one the program is single-stepped and the
 * steps counted; from an even-numbered mark to the next it runs freely.
 * Prints one line per stepped segment: the count, then the count per
 * executable mapping the steps were in (its file's base name, or [vdso]),
 * e.g. "106 fastpath=50 libc.so.6=9 [vdso]=47"; the SIGSTOPs are swallowed.
 * Exit status: PROGRAM's, or 1 if tracing failed (e.g. ptrace is not
 * permitted).
 *
 * Why: valgrind runs a program without the vDSO, so under callgrind
 * clock_gettime is glibc's system-call fallback (the same ten instructions for
 * every clock, the kernel's work not counted) -- it cannot see what a TTL
 * getter's clock read costs natively.  Single-stepping counts every
 * instruction retired in user space, the vDSO's included; a `syscall` counts
 * as one.  fastpath --step VARIANT R marks around run(1) and run(2), R times
 * each, so min(run 2) - min(run 1) is one get (the minimum drops a rare
 * vDSO seqlock retry: a timer tick during the stepped read).  Hardware
 * counters (perf stat -e instructions) would do the same, but are not
 * available in every VM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* The executable mappings of the traced process, read at its first mark. */
#define MAXMAP 64
static struct {
    uint64_t lo, hi;
    char name[64];
    uint64_t steps;
} maps[MAXMAP];
static int nmaps;

static void read_maps(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    nmaps = 0;
    if (!f)
        return;
    while (nmaps < MAXMAP && fgets(line, sizeof line, f)) {
        unsigned long long lo, hi;
        char perm[8], file[400] = "";
        if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %399[^\n]", &lo, &hi, perm, file) < 3 ||
            perm[2] != 'x')
            continue;
        const char *base = strrchr(file, '/');
        base = base ? base + 1 : (*file ? file : "?");
        maps[nmaps].lo = lo;
        maps[nmaps].hi = hi;
        snprintf(maps[nmaps].name, sizeof maps[nmaps].name, "%s", base);
        nmaps++;
    }
    fclose(f);
}

static void count_at(pid_t pid)
{
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) < 0)
        return;
    for (int i = 0; i < nmaps; i++) {
        if (regs.rip >= maps[i].lo && regs.rip < maps[i].hi) {
            maps[i].steps++;
            return;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: stepcount PROGRAM [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("stepcount: fork");
        return 1;
    }
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0) {
            perror("stepcount: PTRACE_TRACEME");
            _exit(126);
        }
        execv(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st)) { /* the exec stop */
        fprintf(stderr, "stepcount: %s did not stop at exec\n", argv[1]);
        return 1;
    }
    int stepping = 0, sig = 0;
    uint64_t steps = 0;
    for (;;) {
        if (ptrace(stepping ? PTRACE_SINGLESTEP : PTRACE_CONT, pid, NULL,
                   (void *)(intptr_t)sig) < 0) {
            fprintf(stderr, "stepcount: ptrace: %s\n", strerror(errno));
            kill(pid, SIGKILL);
            return 1;
        }
        if (waitpid(pid, &st, 0) < 0) {
            perror("stepcount: waitpid");
            return 1;
        }
        if (WIFEXITED(st))
            return WEXITSTATUS(st);
        if (WIFSIGNALED(st)) {
            fprintf(stderr, "stepcount: %s killed by signal %d\n", argv[1], WTERMSIG(st));
            return 1;
        }
        sig = 0;
        int s = WSTOPSIG(st);
        if (s == SIGSTOP) { /* a mark */
            if (stepping) {
                printf("%llu", (unsigned long long)steps);
                for (int i = 0; i < nmaps; i++)
                    if (maps[i].steps)
                        printf(" %s=%llu", maps[i].name, (unsigned long long)maps[i].steps);
                printf("\n");
            } else if (nmaps == 0) {
                read_maps(pid);
            }
            for (int i = 0; i < nmaps; i++)
                maps[i].steps = 0;
            stepping = !stepping;
            steps = 0;
        } else if (stepping && s == SIGTRAP) {
            steps++;
            count_at(pid); /* where the instruction just executed was */
        } else if (s != SIGTRAP) {
            sig = s; /* not ours: deliver it */
        }
    }
}
