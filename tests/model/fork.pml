/* fork.pml -- a Promela model of what include/memo.h does about fork():
 * the claimer's pid (flags_ bits 8-31, "pid_" below), the take-over of a BUSY
 * cell whose owner is in another process (memo_i_owner_elsewhere_,
 * memo_i_take_over_), the forker record of the pthread_atfork child handler
 * (memo_i_atfork_child_), owner_ and memo_i_owned_by_me_ (EDEADLK), and the
 * retired-list lock rlock_ that holds its holder's pid (memo_i_rlock_).
 *
 * The cell exists twice: index P is the parent's copy, index C the child's.
 * A fork is a snapshot: one atomic step copies every variable of the parent's
 * cell to the child's and starts the child's threads.  It can happen between
 * any two steps of the parent's threads (the forker is a process of its own,
 * interleaved freely), so every step an owner can be at is covered: before
 * its pid store, between that store and its claim CAS, between the CAS and
 * its owner_ store, inside the constructor, after the slot store, between
 * the exchange that ends the period and the wake, inside a destroy (slot
 * cleared, record listed, epoch moved, lock held), ...  The parent's threads
 * do not exist in the child; they go on in the parent, on the parent's copy.
 * The child's threads stand for the forking thread's continuation (child
 * thread 0, whose pthread_t is the forker's) and threads it starts (new
 * pthread_t values).  With -DFORK_IN_CTOR the forking thread is instead a
 * parent thread that calls fork() from inside its constructor: its
 * continuation (cont) makes a recursive get (must be EDEADLK) and finishes
 * that constructor in the child; the child's other threads must wait for it.
 *
 * Every atomic{} is one atomic instruction of the C code, or one section
 * under rlock_, or the kernel's futex compare-and-sleep; the relaxed loads of
 * memo_i_owned_by_me_ and memo_i_owner_elsewhere_ (owner_, the pid, the
 * forker record) are one step together.  Memory ordering is not modelled
 * (sequentially consistent interleavings); the release/acquire argument is in
 * docs/DESIGN.md.  Not modelled: leases (no lease is ever held, so a detach
 * always destroys at once), time, a claim without a pid (older headers).
 *
 * Checked properties (asserts and spin's invalid-end-state check):
 *   1. every thread of the child ends: none waits forever on a dead owner
 *      or on a lock held by a dead thread, wherever the fork landed;
 *   2. in each process at most one owner (BUSY period) and so at most one
 *      constructor/destructor at a time; a get returns a value live in its
 *      own process's copy; an error returned is one a constructor really
 *      returned; at the end no record is listed for the current epoch;
 *   3. the parent: never takes a cell over, and the properties above hold
 *      in it whatever the child does;
 *   4. a take-over's pid store before its CAS (which may fail) must not make
 *      a dead owner look alive to another thread of the child: (1) fails if
 *      it does;
 *   5. no get returns EDEADLK except the forking owner's recursive get
 *      (FORK_IN_CTOR), which must.
 *
 * Results (docs/DESIGN.md section 11, "The fork model"): memo.h as it is
 * holds every property, STRICT_FAIL included, FORK_IN_CTOR included; each
 * mutation is caught; TID_REUSE (a child thread with the pthread_t of a dead
 * parent owner) finds a false EDEADLK (see there).
 *
 * Variants (-D):
 *   STRICT_FAIL   property: a get in the child returns no failure that was
 *                 not published (FAILED) in the parent before the fork
 *   PID_INIT=1    the cell was claimed in the parent before (pid_ = parent)
 *   FORK_IN_CTOR  the forking thread is the owner, inside its constructor
 *   RESET         a parent thread runs memo_reset (destroy, detach, rlock_)
 *   TID_REUSE     child thread 1 gets parent thread 0's pthread_t (glibc
 *                 reuses the stacks of threads that vanished in the fork)
 *   mutations: NO_PID_CHECK (a BUSY cell is always waited on), PID_AFTER
 *   (claim and take-over store pid_ after their CAS), NO_DROP (the take-over
 *   keeps a record of the current epoch), NO_STEAL (rlock_ is never taken
 *   from a holder of another process), and one per fix of defects A-C:
 *   NO_WAITERS_RETRY (A: one take-over CAS from the word seen, lost if
 *   another thread set WAITERS), NO_STALE_FAIL (C: the dead period's failure
 *   record is left current), NO_FORKER (B: the forker record is ignored, a
 *   cell owned by the forking thread is taken over).
 */

/* The fix of defect D is memo.h's code now: the default (-DNO_END_PID: the
 * code before it, as a mutation). */
#ifndef NO_END_PID
#define FIX_END_PID 1
#endif
#ifndef NP
#define NP 2            /* parent callers */
#endif
#ifndef NC
#define NC 2            /* child threads */
#endif
#ifndef GETS
#define GETS 1          /* gets per parent caller */
#endif
#ifdef RESET
#define NPT (NP + 1)    /* parent threads: callers + resetter */
#else
#define NPT NP
#endif
#define NT (NPT + NC)
#ifndef PID_INIT
#define PID_INIT 0      /* pid_ at start: 0 = no claim yet, 1 = claimed before in the parent */
#endif   /* thread ids: parent 0..NPT-1, child NPT..NT-1 */
#define GENMOD 8

#define EMPTY  0
#define BUSY   1
#define READY  2
#define FAILED 3
#define NONE 255

#define P 0
#define C 1
#define PID(p) ((p) + 1)    /* getpid(): 1 parent, 2 child; 0 = never stored */
/* pthread_t values (0 = none, as owner_): parent thread i has TID(i); the
 * forker() process FTID, which its continuation, child thread 0, keeps; the
 * child's other threads are new: NEWTID(k), or with TID_REUSE child thread 1
 * gets TID(0), the pthread_t of a thread that vanished in the fork */
#define TID(i) ((i) + 1)
#define FTID (NT + 1)
#define NEWTID(k) (NT + 1 + (k))

/* the cell, one copy per process */
byte phase[2];
bit  waiters[2];
byte gen[2];
byte slot[2];               /* 0 = NULL, else a value id */
byte fail_gen[2];           /* generation of fail_, NONE = stale */
byte pidw[2];               /* pid_ (flags_ bits 8-31) */
byte ownerw[2];             /* owner_: a TID, 0 = none */
byte rlock[2];              /* rlock_: 0 or the holder's pid */
byte epoch[2];              /* leases_ >> 32 */
byte rec[2];                /* the retired list: epoch of the listed record, NONE */
/* the futex: who sleeps (thread ids are per process, see procof) */
bit asleep[NT];

/* bookkeeping for the properties, one copy per process too */
byte owners[2];             /* threads in a BUSY period of their own */
byte in_owner[2];           /* threads inside a constructor or destructor */
byte live[2];               /* the value constructed and not destroyed there */
bit  failed_gen[2 * GENMOD];/* [p*GENMOD+g]: a ctor failed, its period ends with g */
byte failures_left[2];
bit  cancel_left = 1;       /* one constructor of the parent is cancelled */
byte next_value = 1;        /* value ids are unique across processes */
byte done[2];
bit  forked = 0;
byte fk_tid;                /* the child's forker record (memo_i_forker_tid_v1_);
                               its pid is the child's: set at the fork */

#define procof(k) ((k) >= NPT)
#define FG(p, g) ((p) * GENMOD + (g))

inline snapshot() {
    phase[C] = phase[P]; waiters[C] = waiters[P]; gen[C] = gen[P];
    slot[C] = slot[P]; fail_gen[C] = fail_gen[P]; pidw[C] = pidw[P]; ownerw[C] = ownerw[P];
    rlock[C] = rlock[P]; epoch[C] = epoch[P]; rec[C] = rec[P];
    live[C] = live[P]; failures_left[C] = failures_left[P];
    k = 0;
    do
    :: k < GENMOD -> failed_gen[FG(C, k)] = failed_gen[FG(P, k)]; k++
    :: else -> break
    od;
    owners[C] = 0; in_owner[C] = 0;   /* the parent's threads are not here */
#ifdef STRICT_FAIL
    /* an attempt still BUSY at the fork has failed for no one in the child */
    if
    :: phase[P] == BUSY -> failed_gen[FG(C, (gen[P] + 1) % GENMOD)] = 0
    :: else -> skip
    fi;
#endif
    forked = 1
}

/* memo_i_owned_by_me_ for thread me whose memo_i_claim_pid_v1_ is cpid: the
 * owner is me and the cell's pid is that of my own last claim (the fix of
 * defect E; -DOLD_OWNED: also "or this process's pid", the code before it) */
#ifdef OLD_OWNED
#define owned_rule(p, o, me, cpid) ((o) == (me) && (pidw[p] == (cpid) || pidw[p] == PID(p)))
#else
#define owned_rule(p, o, me, cpid) ((o) == (me) && pidw[p] == (cpid))
#endif
#define owned_by_me(p, me, cpid) owned_rule(p, ownerw[p], me, cpid)
/* memo_i_owner_elsewhere_: a foreign pid, and not the forker's cell (the
 * record exists in the child only; the parent never sees a foreign pid) */
#ifdef NO_FORKER
#define forkers(p, o) 0
#else
#define forkers(p, o) (p == C && (o) == fk_tid)
#endif
#define owner_elsewhere(p) (pidw[p] != PID(p) && !forkers(p, ownerw[p]))

inline wake_all(p) {
    atomic {
        k = 0;
        do
        :: k < NT -> if :: procof(k) == p -> asleep[k] = 0 :: else -> skip fi; k++
        :: else -> break
        od
    }
}

/* memo_i_end_busy_ (keep = 0) / memo_i_end_busy_keep_ (keep = 1) of the
 * period whose BUSY word has generation bg: clear a stale failure record,
 * exchange the word for MEMO_I_NEXT(busy, newphase), wake if WAITERS was set. */
inline end_busy(p, newphase, keep, bg) {
    if
    :: !keep && newphase != FAILED && fail_gen[p] != NONE -> fail_gen[p] = NONE
    :: else -> skip
    fi;
#ifdef FIX_END_PID
    if                                    /* proposed: the forker's continuation */
    :: pidw[p] != PID(p) -> pidw[p] = PID(p)   /* makes the pid its own first */
    :: else -> skip
    fi;
#endif
    ownerw[p] = 0;                        /* memo_i_end_busy_keep_: owner_ = 0 */
    atomic {
        assert(owners[p] == 1);
        owners[p]--;
        old_w = waiters[p];
        phase[p] = newphase;
        waiters[p] = 0;
        gen[p] = (bg + 1) % GENMOD;
        if
        :: newphase != FAILED -> failed_gen[FG(p, gen[p])] = 0
        :: else -> skip
        fi;
        assert(rec[p] == NONE || rec[p] != epoch[p])   /* nothing listed for the current epoch */
    };
    if
    :: old_w -> wake_all(p)
    :: else -> skip
    fi
}

/* memo_i_wait_ + memo_i_sleep_: sleep while the word is the BUSY word of
 * generation sg */
inline wait_busy(p, id, sg) {
    do
    :: atomic {                           /* CAS: set WAITERS on that word */
           if
           :: (phase[p] == BUSY && gen[p] == sg) -> waiters[p] = 1
           :: else -> break
           fi
       };
       atomic {                           /* FUTEX_WAIT(word, BUSY|W|gen) */
           if
           :: (phase[p] == BUSY && gen[p] == sg && waiters[p] == 1) -> asleep[id] = 1
           :: else -> skip
           fi
       };
       (asleep[id] == 0)
    od
}

/* memo_i_claim_: pid_ store, CAS from the non-BUSY word (sp, sg), owner_ */
inline claim(p, sp, sg, won, me, cpid) {
#ifndef PID_AFTER
    pidw[p] = PID(p);
#endif
    atomic {
        if
        :: phase[p] == sp && gen[p] == sg -> phase[p] = BUSY; waiters[p] = 0; owners[p]++; won = 1
        :: else -> won = 0
        fi
    };
#ifdef PID_AFTER
    if :: won -> pidw[p] = PID(p) :: else -> skip fi;
#endif
    if :: won -> ownerw[p] = me; cpid = PID(p) :: else -> skip fi
}

/* memo_i_rlock_: CAS from 0, or from a word holding another process's pid */
inline rlock_acquire(p) {
    atomic {
#ifdef NO_STEAL
        rlock[p] == 0 -> rlock[p] = PID(p)
#else
        rlock[p] != PID(p) -> rlock[p] = PID(p)
#endif
    }
}

/* memo_i_take_over_: the BUSY word (sg, sw) seen has pid_ != ours */
inline take_over(p, sg, sw, me, cpid) {
    assert(p == C);                       /* the parent never takes over */
#ifndef NO_STALE_FAIL
    atomic {                              /* CAS fail_: the dead period's record -> stale */
        if
        :: fail_gen[p] == (sg + 1) % GENMOD -> fail_gen[p] = NONE
        :: else -> skip
        fi
    };
#endif
#ifndef PID_AFTER
    pidw[p] = PID(p);
#endif
    atomic {
        if
#ifndef NO_WAITERS_RETRY
        :: phase[p] == BUSY && gen[p] == sg ->          /* CAS loop: retried while only WAITERS changed */
#else
        :: phase[p] == BUSY && gen[p] == sg && waiters[p] == sw ->   /* one CAS from the word seen */
#endif
            gen[p] = (sg + 1) % GENMOD; owners[p]++; won = 1
        :: else -> won = 0
        fi
    };
    if
    :: won ->
#ifdef PID_AFTER
        pidw[p] = PID(p);
#endif
        ownerw[p] = me; cpid = PID(p);
        rlock_acquire(p);
#ifndef NO_DROP
        if                                /* drop the record of the current epoch */
        :: rec[p] == epoch[p] -> rec[p] = NONE
        :: else -> skip
        fi;
#endif
        rlock[p] = 0;                     /* memo_i_runlock_ */
        got = slot[p];
        if
        :: got != 0 -> end_busy(p, READY, 0, (sg + 1) % GENMOD)
        :: else -> end_busy(p, EMPTY, 0, (sg + 1) % GENMOD)
        fi
    :: else -> skip
    fi
}

/* memo_get in process p (thread id): returns a value or an error */
proctype caller(byte p; byte id; byte gets; byte me; byte cpid) {
    byte sp, sg, got, n = 0, old_w, k;
    bit sw, won, edeadlk;
#ifdef FIX_END_PID
    byte o;
#endif
    do
    :: n == gets -> break
    :: else ->
again:
        atomic { sp = phase[p]; sg = gen[p]; sw = waiters[p] };   /* acquire load of state_ */
        if
        :: sp == READY ->
            atomic {                                    /* acquire load of slot_ */
                got = slot[p];
                if
                :: got != 0 -> assert(got == live[p])
                :: else -> skip
                fi
            };
            if
            :: got == 0 -> goto again
            :: else -> n++
            fi
        :: sp == EMPTY || sp == FAILED ->
            claim(p, sp, sg, won, me, cpid);
            if
            :: !won -> goto again
            :: else -> skip
            fi;
            /* memo_i_construct_ */
            atomic { in_owner[p]++; assert(in_owner[p] == 1) };
#ifdef FORK_IN_CTOR
            if
            :: p == P && !forked ->                     /* fork() from the ctor */
                atomic {
                    snapshot();
                    owners[C] = 1; in_owner[C] = 1;     /* its continuation */
                    fk_tid = me;                        /* memo_i_atfork_child_ */
                    run cont(sg, me, cpid);
                    k = 1;
                    do
                    :: k < NC -> run caller(C, NPT + k, 1, NEWTID(k), 0); k++
                    :: else -> break
                    od
                }
            :: true -> skip
            fi;
#endif
            if
            :: true ->                                  /* success */
                in_owner[p]--;                          /* the ctor returns */
                atomic { live[p] = next_value; next_value++; slot[p] = live[p] };  /* release store */
                end_busy(p, READY, 0, sg);
                n++
            :: failures_left[p] > 0 ->                  /* failure */
                in_owner[p]--;
                atomic {                                /* store of fail_ */
                    failures_left[p]--;
                    fail_gen[p] = (sg + 1) % GENMOD;
                    failed_gen[FG(p, (sg + 1) % GENMOD)] = 1
                };
                end_busy(p, FAILED, 0, sg);
                n++
            :: p == P && cancel_left ->                 /* cancelled: memo_i_abandon_ */
                atomic { in_owner[p]--; cancel_left = 0 };
                end_busy(p, EMPTY, 0, sg);
                break
            fi
        :: sp == BUSY ->
#ifdef FIX_END_PID
            o = ownerw[p];              /* proposed: owner_ loaded (acquire) before the pid */
            if
            :: owned_rule(p, o, me, cpid) ->
                edeadlk = 1; assert(!edeadlk)
            :: !owned_rule(p, o, me, cpid) &&
               pidw[p] != PID(p) && !forkers(p, o) ->
                take_over(p, sg, sw, me, cpid);
                goto again
            :: else -> skip
            fi;
#else
            if                          /* memo_i_owned_by_me_, memo_i_owner_elsewhere_ */
            :: owned_by_me(p, me, cpid) ->
                edeadlk = 1; assert(!edeadlk)     /* a caller is never in its own ctor */
#ifndef NO_PID_CHECK
            :: !owned_by_me(p, me, cpid) && owner_elsewhere(p) ->
                take_over(p, sg, sw, me, cpid);
                goto again
#endif
            :: else -> skip
            fi;
#endif
            wait_busy(p, id, sg);
            atomic {                                    /* memo_i_failure_of_(gen + 1) */
                if
                :: fail_gen[p] == (sg + 1) % GENMOD ->
                    assert(failed_gen[FG(p, (sg + 1) % GENMOD)]);
                    n++
                :: else -> skip
                fi
            }
        fi
    od;
    atomic { done[p]++ }
}

#ifdef FORK_IN_CTOR
/* the forking owner's continuation in the child: its ctor returns a value */
proctype cont(byte sg; byte me; byte cpid) {
    byte old_w, k;
    /* its recursive get: BUSY, owned by the caller: EDEADLK */
    atomic { assert(phase[C] == BUSY && owned_by_me(C, me, cpid)) };
    in_owner[C]--;
    atomic { live[C] = next_value; next_value++; slot[C] = live[C] };
    end_busy(C, READY, 0, sg);
    atomic { done[C]++ }
}
#endif

#ifdef RESET
/* memo_reset in the parent: destroy (memo_i_destroy_ + memo_i_detach_),
 * forget a failure, or wait */
proctype resetter(byte id; byte me) {
    byte cpid = 0;
    byte sp, sg, got, old_w, k;
    bit sw, won;
    do
    :: atomic { sp = phase[P]; sg = gen[P]; sw = waiters[P] };
       if
       :: sp == EMPTY -> break
       :: sp == READY ->
           claim(P, READY, sg, won, me, cpid);
           if
           :: won ->
               atomic { got = slot[P]; slot[P] = 0 };   /* exchange slot_ -> NULL */
               rlock_acquire(P);                        /* push the record of epoch e */
               rec[P] = epoch[P];
               rlock[P] = 0;
               epoch[P] = (epoch[P] + 1) % GENMOD;      /* exchange leases_: no lease */
               rlock_acquire(P);                        /* count 0: unlink */
               rec[P] = NONE;
               rlock[P] = 0;
               atomic { in_owner[P]++; assert(in_owner[P] == 1) };   /* the destructor */
               atomic { in_owner[P]--; assert(live[P] == got); live[P] = 0 };
               end_busy(P, EMPTY, 0, sg);
               break
           :: else -> skip
           fi
       :: sp == FAILED ->
           claim(P, FAILED, sg, won, me, cpid);
           if
           :: won -> end_busy(P, EMPTY, 1, sg); break    /* memo_i_end_busy_keep_ */
           :: else -> skip
           fi
       :: sp == BUSY ->
           if
           :: owner_elsewhere(P) -> take_over(P, sg, sw, me, cpid)
           :: else -> wait_busy(P, id, sg)
           fi
       fi
    od;
    atomic { done[P]++ }
}
#endif

#ifndef FORK_IN_CTOR
/* fork() by a thread that is not in the cell: at any point */
proctype forker() {
    byte k;
    atomic {
        snapshot();
        fk_tid = FTID;                    /* memo_i_atfork_child_ */
        run caller(C, NPT, 1, FTID, 0);   /* its continuation: it never claimed */
        k = 1;
        do
#ifdef TID_REUSE
        :: k == 1 && k < NC -> run caller(C, NPT + k, 1, TID(0), 0); k++
        :: k != 1 && k < NC -> run caller(C, NPT + k, 1, NEWTID(k), 0); k++
#else
        :: k < NC -> run caller(C, NPT + k, 1, NEWTID(k), 0); k++
#endif
        :: else -> break
        od
    }
}
#endif

inline final_check(p) {
    assert(owners[p] == 0);
    assert(in_owner[p] == 0);
    assert(phase[p] != BUSY);
    assert(phase[p] != READY || (slot[p] != 0 && slot[p] == live[p]));
    assert(rlock[p] == 0 || rlock[p] != PID(p));
    assert(rec[p] == NONE || rec[p] != epoch[p])
}

init {
    byte i;
    atomic {
        phase[P] = EMPTY; fail_gen[P] = NONE; pidw[P] = PID_INIT; rec[P] = NONE; failures_left[P] = 1;
        i = 0;
        do
        :: i < NP -> run caller(P, i, GETS, TID(i), 0); i++
        :: else -> break
        od;
#ifdef RESET
        run resetter(NP, TID(NP));
#endif
#ifndef FORK_IN_CTOR
        run forker()
#else
        skip
#endif
    };
#ifdef FORK_IN_CTOR
    (done[P] == NPT && (!forked || done[C] == NC));
#else
    (done[P] == NPT && forked && done[C] == NC);
#endif
    final_check(P);
    if
    :: forked -> final_check(C)
    :: else -> skip
    fi
}
