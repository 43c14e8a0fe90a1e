/* memo.pml -- a Promela model of the memo_t cell protocol (include/memo.h).
 *
 * What is modelled: the state word (phase, WAITERS, generation), the value
 * slot, the failure record fail_, the futex (compare-and-sleep atomic with
 * respect to wake), callers doing memo_get (constructing, waiting, taking
 * over), a constructor that succeeds, fails or is cancelled, and memo_reset.
 * Every atomic{} block below is one atomic instruction of the C code (a CAS,
 * an exchange, a load), or the kernel's futex compare-and-sleep.
 * What is not: memory ordering (spin explores sequentially consistent
 * interleavings; the acquire/release argument is in docs/DESIGN.md section 3),
 * backoff windows (time), timeouts, EDEADLK.
 *
 * Checked properties:
 *   - at most one constructor or destructor runs at a time (assert)
 *   - a get that returns an error returns the error of an attempt that
 *     really failed, and one that it ran or waited on (assert)
 *   - a get that returns a value returns a value that is live (assert)
 *   - no lost wake-up and no deadlock: every process reaches its end
 *     (spin's invalid end state check), with -DNTHREADS=2 and 3
 *   - a failed attempt is always retriable: the last caller's get after all
 *     failures succeeds (assert in the final check)
 *
 * Map to the code (docs/DESIGN.md section 2 has the same names):
 *   get()      memo_i_get_slow_      construct  memo_i_construct_
 *   wait()     memo_i_wait_ + memo_i_sleep_   end_busy  memo_i_end_busy_
 *   cancel     memo_i_abandon_       reset()    memo_reset / memo_i_destroy_
 */

#ifndef NTHREADS
#define NTHREADS 2
#endif
#define GETS 2          /* gets per thread */
#define GENMOD 8        /* generation counter width: wraps like the real one */

#define EMPTY  0
#define BUSY   1
#define READY  2
#define FAILED 3

/* the state word */
byte phase = EMPTY;
bit  waiters = 0;
byte gen = 0;
/* the rest of the cell */
byte slot = 0;          /* 0 = NULL, else the value's id */
byte fail_gen = 255;    /* generation recorded by the last failure */
/* the futex: who sleeps */
bit asleep[NTHREADS + 1];

/* bookkeeping for the properties */
byte in_owner = 0;      /* threads inside a constructor or destructor */
byte live_value = 0;    /* the value id that is constructed and not destroyed */
byte next_value = 1;
bit  failed_gen[GENMOD]; /* failed_gen[g]: the attempt ending with gen g failed */
byte failures_left = 2; /* the environment fails at most this many attempts */
bit  cancel_left = 1;   /* and cancels at most one constructor */
byte done = 0;
bit reset_done = 0;

inline wake_all() {
    atomic {
        k = 0;
        do
        :: k <= NTHREADS -> asleep[k] = 0; k++
        :: else -> break
        od
    }
}

/* end of a BUSY period: exchange the word, wake if WAITERS was set */
inline end_busy(newphase) {
    atomic {
        old_w = waiters;
        phase = newphase;
        waiters = 0;
        gen = (gen + 1) % GENMOD
    };
    if
    :: old_w -> wake_all()
    :: else -> skip
    fi
}

/* memo_i_wait_: sleep while the word is the BUSY word (sp, sg) */
inline wait_busy(id, sg) {
    do
    :: atomic {                           /* CAS: set WAITERS on that word */
           if
           :: (phase == BUSY && gen == sg) -> waiters = 1
           :: else -> break               /* the word changed: done waiting */
           fi
       };
       atomic {                           /* FUTEX_WAIT(word, BUSY|W|gen) */
           if
           :: (phase == BUSY && gen == sg && waiters == 1) -> asleep[id] = 1
           :: else -> skip                /* compare failed: re-check */
           fi
       };
       (asleep[id] == 0)                  /* woken (or never slept) */
    od
}

proctype caller(byte id) {
    byte sp, sg, got, n = 0, old_w, k;
    bit cancelled = 0;
again:
    do
    :: n == GETS -> break
    :: else ->
retry:
        atomic { sp = phase; sg = gen };          /* acquire load of state_ */
        if
        :: sp == READY ->
            atomic {
                got = slot;
                if
                :: got != 0 -> assert(got == live_value)
                :: else -> skip
                fi
            };
            if
            :: got == 0 -> goto retry             /* a reset began: look again */
            :: else -> n++
            fi
        :: sp == EMPTY || sp == FAILED ->
            atomic {                              /* CAS into BUSY */
                if
                :: phase == sp && gen == sg -> phase = BUSY; waiters = 0
                :: else -> goto retry
                fi
            };
            /* owner: run the constructor */
            atomic { in_owner++; assert(in_owner == 1) };
            if
            :: true ->                            /* success */
                atomic {
                    in_owner--;
                    live_value = next_value; next_value++;
                    slot = live_value             /* release store of slot_ */
                };
                end_busy(READY);
                n++
            :: failures_left > 0 ->               /* failure */
                atomic {
                    in_owner--;
                    failures_left--;
                    fail_gen = (sg + 1) % GENMOD;
                    failed_gen[(sg + 1) % GENMOD] = 1
                };
                end_busy(FAILED);
                n++                               /* the caller got its error */
            :: cancel_left > 0 ->                 /* cancelled in the ctor */
                atomic { in_owner--; cancel_left = 0 };
                end_busy(EMPTY);                  /* memo_i_abandon_ */
                cancelled = 1;
                break                             /* the thread is gone */
            fi
        :: sp == BUSY ->
            wait_busy(id, sg);
            /* memo_i_failure_of_(gen + 1) */
            atomic {
                if
                :: fail_gen == (sg + 1) % GENMOD ->
                    assert(failed_gen[(sg + 1) % GENMOD]);
                    n++                           /* the waiter got that error */
                :: else -> skip
                fi
            };
            goto again
        fi
    od;
    /* after all failures, one more get must succeed: never permanent */
    if
    :: !cancelled ->
        do
        :: true ->
            atomic { sp = phase; sg = gen };
            if
            :: sp == READY && slot != 0 -> break
            :: sp == READY -> skip
            :: sp == EMPTY || sp == FAILED ->
                atomic {
                    if
                    :: phase == sp && gen == sg -> phase = BUSY; waiters = 0
                    :: else -> goto retry_final
                    fi
                };
                atomic { in_owner++; assert(in_owner == 1) };
                atomic { in_owner--; live_value = next_value; next_value++; slot = live_value };
                end_busy(READY);
                break
            :: sp == BUSY -> wait_busy(id, sg)
            fi;
retry_final: skip
        od
    :: else -> skip
    fi;
    atomic { done++ }
}

/* memo_reset, once, concurrently with the callers */
proctype resetter(byte id) {
    byte sp, sg, old_w, k;
    do
    :: atomic { sp = phase; sg = gen };
       if
       :: sp == EMPTY -> break
       :: sp == READY ->
           atomic {
               if
               :: phase == READY && gen == sg -> phase = BUSY; waiters = 0
               :: else -> goto again_r
               fi
           };
           atomic { in_owner++; assert(in_owner == 1); slot = 0 };
           atomic { in_owner--; live_value = 0 };     /* the destructor */
           end_busy(EMPTY);
           break
       :: sp == FAILED ->
           atomic {
               if
               :: phase == FAILED && gen == sg -> phase = EMPTY; gen = (gen + 1) % GENMOD
               :: else -> skip
               fi
           }
       :: sp == BUSY -> wait_busy(id, sg)
       fi;
again_r: skip
    od;
    reset_done = 1
}

init {
    byte i;
    atomic {
        i = 0;
        do
        :: i < NTHREADS -> run caller(i); i++
        :: else -> break
        od;
        run resetter(NTHREADS)
    };
    (done == NTHREADS && reset_done);
    /* Nobody is inside a constructor, nobody sleeps, the state is stable. */
    assert(in_owner == 0);
    assert(phase != BUSY);
    assert(phase != READY || slot == live_value)
}
