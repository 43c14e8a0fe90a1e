/* lease.pml -- a Promela model of the lease protocol (memo_acquire,
 * memo_release, and the detach done by memo_reset/memo_invalidate) in
 * include/memo.h.
 *
 * What is modelled: the lease word leases_ = (epoch, count), the value slot,
 * the retired list (one record per epoch, sections under rlock_ are atomic
 * blocks), holders that acquire a lease, use the value and release it, and
 * one owner that installs a value and detaches it, ROUNDS times.  The owner
 * stands for every BUSY period: construction and detach are serialized by the
 * state word, which memo.pml models; here they are one process.  Every
 * atomic{} block is one atomic instruction of the C code or one locked
 * section.  Memory ordering is not modelled (sequentially consistent
 * interleavings); the acquire/release argument is in docs/DESIGN.md.
 *
 * Checked properties:
 *   - a pinned value is the value of the epoch the lease was counted in
 *   - a value is never destroyed while a lease on it is held (assert at each
 *     use), and is destroyed exactly once (assert in destroy)
 *   - at the end: every value destroyed, no record listed, no lease counted
 *   - no deadlock: every process reaches its end
 *
 * Map to the code:
 *   acquire()   memo_acquire            unpin()   memo_i_unpin_ (+ _retired_)
 *   detach()    memo_i_detach_          destroy   the dtor call in
 *                                                 memo_i_destroy_ / _retired_
 */

#ifndef NHOLDERS
#define NHOLDERS 2
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif
#define TRIES 2          /* acquires per holder */
#define BIAS 100         /* > any count of leases here */
#define NV (ROUNDS + 1)  /* value ids 1..ROUNDS; epochs 0..ROUNDS */

byte slot = 0;           /* 0 = NULL */
byte l_epoch = 0;        /* leases_ >> 32 */
byte l_count = 0;        /* (uint32_t)leases_ */

/* the retired list, one record per detached epoch */
bit   listed[NV];
byte  rec_value[NV];
short rec_count[NV];

/* bookkeeping */
bit  alive[NV];          /* value constructed and not destroyed */
byte epoch_value[NV];    /* the value installed in each epoch */
byte pins[NV];           /* leases held on each value right now */
byte done = 0;

inline destroy(v) {
  atomic { assert(alive[v]); assert(pins[v] == 0); alive[v] = 0 }
}

/* memo_i_unpin_(m, e): give back one lease counted in epoch e */
inline unpin(e) {
  bit current; short left; byte dv;
  atomic {                              /* the CAS loop on leases_ */
    if
    :: l_epoch == e -> assert(l_count > 0); l_count--; current = 1
    :: else -> current = 0
    fi
  }
  if
  :: !current ->
     atomic {                           /* memo_i_unpin_retired_, under rlock_ */
       assert(listed[e] && rec_count[e] > 0);
       rec_count[e]--; left = rec_count[e];
       if :: left == 0 -> listed[e] = 0; dv = rec_value[e] :: else -> dv = 0 fi
     }
     if :: dv != 0 -> destroy(dv) :: else -> skip fi
  :: else -> skip
  fi
}

proctype holder(byte id)
{
  byte tries = 0, e0, v, old;
  do
  :: tries == TRIES -> break
  :: tries < TRIES ->
     tries++;
     e0 = l_epoch;                      /* acquire load of leases_ */
     v = slot;                          /* acquire load of slot_ */
     if
     :: v == 0 -> skip                  /* slow path: get, then try again */
     :: else ->
        atomic { old = l_epoch; l_count++ }   /* fetch_add */
        if
        :: old == e0 ->
           atomic { assert(epoch_value[e0] == v); pins[v]++ }
           assert(alive[v]);            /* use the value */
           assert(alive[v]);            /* ... twice, interleaved */
           atomic { pins[v]--; }
           unpin(e0)                    /* memo_release */
        :: else ->
           unpin(old)                   /* undo, then try again */
        fi
     fi
  od;
  atomic { done++ }
}

proctype owner()
{
  byte r = 1, v, e, c; short left;
  do
  :: r > ROUNDS -> break
  :: r <= ROUNDS ->
     /* a BUSY period that constructs: slot_ = v (release) */
     atomic { alive[r] = 1; epoch_value[l_epoch] = r; slot = r }
     /* a BUSY period that detaches (memo_i_destroy_ + memo_i_detach_) */
     v = slot;
     slot = 0;                          /* exchange slot_ -> NULL */
     e = l_epoch;                       /* only the owner moves the epoch */
     atomic { rec_value[e] = v; rec_count[e] = BIAS; listed[e] = 1 }   /* push */
     atomic { c = l_count; l_epoch = e + 1; l_count = 0 }             /* exchange */
     atomic {
       rec_count[e] = rec_count[e] + c - BIAS; left = rec_count[e];
       if :: left == 0 -> listed[e] = 0 :: else -> skip fi
     }
     if :: left == 0 -> destroy(v) :: else -> skip fi
     r++
  od;
  atomic { done++ }
}

init {
  byte i;
  atomic {
    for (i : 1 .. NHOLDERS) { run holder(i) }
    run owner()
  }
  (done == NHOLDERS + 1);
  /* every value destroyed exactly once, nothing left listed or counted */
  for (i : 1 .. ROUNDS) { assert(!alive[i]) }
  for (i : 0 .. ROUNDS) { assert(!listed[i]) }
  assert(l_count == 0)
}
