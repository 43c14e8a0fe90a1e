#!/usr/bin/env python3
"""errors_mutants.py -- shows that tests/test_errors.c (and the examples of
docs/TESTING.md) can fail: each mutant is a copy of include/memo.h with one
deliberate defect in the errors / observer / memo_set / memo_take code; the
suite is built against it (gcc -O2) and must fail the tests named for it (the
test_DEFECT_* tests fail anyway and are not counted).  A mutant whose text no
longer matches include/memo.h is reported as stale, not as caught.

    python3 tests/errors_mutants.py [NAME...]      # all mutants, or some

Ends with "mutants: N caught, N missed, N stale".  Needs gcc, libcmocka-dev.
Not part of `make test` (about a minute): run it after changing the code it
mutates or the tests that catch it.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "mutants")

# name: (what it breaks, [(old, new, count)], tests that must fail,
#        examples (examples/testing/*.c) that must fail)
MUTANTS = {
    "origin-always-memo": (
        "every error is noted MEMO_FROM_MEMO (the constructor's too)",
        [("= MEMO_FROM_CTOR;", "= MEMO_FROM_MEMO;", 4)],
        ["test_origin_etimedout_memo_vs_ctor", "test_origin_ctor_einval", "test_message_reaches_every_waiter",
         "test_thread_getter_errors", "test_typed_getter_errors"],
        ["test_retry"]),
    "message-not-copied-to-waiters": (
        "waiters and refused callers never copy the attempt's message",
        [("if (m->msg_ && m->msg_->gen == (gen & 0x1fffffffu)) {", "(void)gen;\n    if (0) {", 1)],
        ["test_message_reaches_every_waiter", "test_message_in_backoff_refusal", "test_message_cut_at_max"],
        ["test_retry"]),
    "observer-never-called": (
        "memo_i_event_ returns at once",
        [("    if (MEMO_I_LIKELY(!m->on_event))\n        return;\n    memo_event_t ev;",
          "    if (1)\n        return;\n    memo_event_t ev;", 1)],
        ["test_observer_attempt_success", "test_observer_failure_with_message", "test_observer_backoff_refusal",
         "test_observer_reset_shutdown_forget_all", "test_observer_ttl_refresh"],
        []),
    "failure-event-inside-busy-period": (
        "the FAILURE event before the busy period ends (a lock-like hold around the observer)",
        [("    memo_i_end_busy_(m, next);\n    memo_i_event_(m, MEMO_EV_FAILURE, err, msg, t1 - t0);",
          "    memo_i_event_(m, MEMO_EV_FAILURE, err, msg, t1 - t0);\n    memo_i_end_busy_(m, next);", 1)],
        ["test_observer_runs_after_the_busy_period"],
        []),
    "event-on-ttl-ready-path": (
        "a fresh TTL get (the TTL cell's ready path) tells the observer",
        [("        if (MEMO_I_LIKELY(v != NULL) && MEMO_TTL_NOW_NS() < memo_i_atomic_load_relaxed(&m->exp_ns_))\n"
          "            return memo_i_ok_(v);",
          "        if (MEMO_I_LIKELY(v != NULL) && MEMO_TTL_NOW_NS() < memo_i_atomic_load_relaxed(&m->exp_ns_)) {\n"
          "            memo_i_event_(m, MEMO_EV_SUCCESS, 0, NULL, 0);\n"
          "            return memo_i_ok_(v);\n        }", 1)],
        ["test_observer_never_on_fast_path"],
        []),
    "event-on-acquire-fast-path": (
        "memo_acquire of a ready value tells the observer",
        [("            lease->magic_ = MEMO_I_LEASE_MAGIC;\n            return 0;",
          "            lease->magic_ = MEMO_I_LEASE_MAGIC;\n            memo_i_event_(m, MEMO_EV_SUCCESS, 0, NULL, 0);\n"
          "            return 0;", 1)],
        ["test_observer_never_on_fast_path"],
        []),
    "waits-not-counted": (
        "memo_stats' waits never counts a caller that sleeps on a running attempt",
        [("                counted_wait = 1;\n                memo_i_count_(&m->waits_);",
          "                counted_wait = 1;", 1)],
        ["test_message_reaches_every_waiter"],
        ["test_once"]),
    "success-clears-last-error": (
        "every successful slow-path get resets memo_last_error()",
        [("    memo_i_res_t r;\n    r.v = v;\n    r.err = 0;\n    return r;",
          "    memo_i_res_t r;\n    memo_i_note_(0, 0, NULL);\n    r.v = v;\n    r.err = 0;\n    return r;", 1)],
        ["test_success_keeps_last_error"],
        []),
    "old-message-kept": (
        "a failure without a message keeps the previous record, and waiters ignore the generation",
        [("    m->msg_ = rec;\n    memo_i_runlock_(m);\n    MEMO_FREE(old);",
          "    if (rec)\n        m->msg_ = rec;\n    else\n        old = NULL;\n    memo_i_runlock_(m);\n    MEMO_FREE(old);", 1),
         ("if (m->msg_ && m->msg_->gen == (gen & 0x1fffffffu)) {", "(void)gen;\n    if (m->msg_) {", 1)],
        ["test_message_not_carried_to_later_failure"],
        []),
    "pending-not-cleared-at-attempt": (
        "memo_failf of an earlier (successful) attempt or outside a constructor attaches to the next failure",
        [("    memo_i_tls_v2_.pending_set = 0; /* memo_failf from here on is this attempt's */\n", "", 1)],
        ["test_message_of_a_successful_attempt_is_dropped", "test_message_not_carried_to_later_failure"],
        []),
    "message-cut-at-63": (
        "memo_failf keeps 63 bytes instead of MEMO_MESSAGE_MAX - 1",
        [("vsnprintf(t->pending, MEMO_MESSAGE_MAX, fmt, ap);", "vsnprintf(t->pending, 64, fmt, ap);", 1)],
        ["test_message_cut_at_max"],
        []),
    "message-is-the-cells": (
        "memo_last_error().message points at the cell's record, not the thread's copy",
        [("    e.message = t->has_msg ? t->msg : NULL;",
          "    e.message = t->has_msg ? t->msg : NULL;\n    if (t->has_msg && memo_i_last_cell_ && memo_i_last_cell_->msg_)\n"
          "        e.message = memo_i_last_cell_->msg_->text;", 1),
         ("static MEMO_I_NOINLINE void memo_i_note_ctor_(memo_t *m, int err, uint32_t gen)\n{",
          "static MEMO_I_TLS memo_t *memo_i_last_cell_;\n"
          "static MEMO_I_NOINLINE void memo_i_note_ctor_(memo_t *m, int err, uint32_t gen)\n{\n    memo_i_last_cell_ = m;", 1),
         ("    memo_i_note_(err, origin, msg);\n    if (old) {",
          "    memo_i_note_(err, origin, msg);\n    memo_i_last_cell_ = m;\n    if (old) {", 1)],
        ["test_message_is_the_threads_copy"],
        []),
    "enovalue-owner-is-ctor": (
        "a constructor that returned no value: MEMO_FROM_CTOR for its caller",
        [("        err = MEMO_ENOVALUE;\n        origin = MEMO_FROM_MEMO;", "        err = MEMO_ENOVALUE;", 1)],
        ["test_origin_enovalue_is_memo"],
        []),
    "set-keeps-backoff": (
        "memo_set does not forget the failure row and backoff",
        [("        memo_i_atomic_store_relaxed(&m->nfail_row_, 0);\n        memo_i_atomic_store_relaxed(&m->retry_at_, 0);\n"
          "        memo_i_list_(m);",
          "        memo_i_list_(m);", 1)],
        ["test_set_clears_backoff"],
        ["test_fake_conn"]),
    "set-unlisted": (
        "memo_set does not list the value (memo_shutdown misses it)",
        [("        memo_i_atomic_store_relaxed(&m->retry_at_, 0);\n        memo_i_list_(m);",
          "        memo_i_atomic_store_relaxed(&m->retry_at_, 0);", 1)],
        ["test_set_value_is_got_and_destroyed"],
        ["test_fake_conn"]),
    "set-ebusy-is-eexist": (
        "memo_set of a cell being built says EEXIST",
        [("            rc = EBUSY;", "            rc = EEXIST;", 1)],
        ["test_set_ebusy_while_building"],
        []),
    "set-allows-inplace": (
        "memo_set / memo_take accept in-place and per-thread cells",
        [("    if (memo_i_flags_(m) & (MEMO_I_F_INPLACE | MEMO_I_F_THREAD))\n        return ENOTSUP;\n    int cs = memo_i_nocancel_(), rc;\n    for",
          "    int cs = memo_i_nocancel_(), rc;\n    for", 1)],
        ["test_set_einval_enotsup"],
        []),
    "take-runs-dtor": (
        "memo_take destroys the value it hands out",
        [("        (void)memo_i_detach_(m, v, rec, MEMO_I_KEEP); /* rec: freed, or listed */",
          "        if (memo_i_detach_(m, v, rec, MEMO_I_KEEP) && m->dtor)\n            m->dtor(m->arg, v);", 1)],
        ["test_take_returns_value_without_dtor"],
        ["test_fake_conn"]),
    "take-lease-release-destroys": (
        "the last release of a lease on a taken value runs the destructor",
        [("    if ((how & 0xffu) == MEMO_I_KEEP)\n        return; /* memo_take: the taker owns it */\n", "", 1)],
        ["test_take_with_lease_held"],
        []),
    "take-does-not-wait": (
        "memo_take of a cell being built returns EAGAIN at once",
        [("            if (memo_i_owner_elsewhere_(m))\n                memo_i_take_over_(m, s);\n"
          "            else if (memo_i_wait_(m, s, 0) == EDEADLK) {\n                rc = EDEADLK;\n                break;\n            }\n"
          "            continue;",
          "            rc = EAGAIN;\n            break;", 1)],
        ["test_take_waits_for_construction"],
        []),
}


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def failed_tests(out):
    return set(re.findall(r"^\[  FAILED  \] ([A-Za-z_][A-Za-z0-9_]*)$", out, re.M))


def main():
    names = sys.argv[1:] or list(MUTANTS)
    src = open(os.path.join(ROOT, "include", "memo.h")).read()
    flags = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
    caught = missed = stale = 0
    for name in names:
        what, edits, want, want_ex = MUTANTS[name]
        text = src
        bad = None
        for old, new, count in edits:
            if text.count(old) != count:
                bad = "found %d times, want %d: %r" % (text.count(old), count, old[:70])
                break
            text = text.replace(old, new)
        if bad:
            print("[%s] STALE: %s" % (name, bad))
            stale += 1
            continue
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "memo.h"), "w") as f:
            f.write(text)
        exe = os.path.join(d, "errors")
        b = run(["gcc"] + flags + ["-I" + d, "-Itests", "-Itests/common", "tests/test_errors.c", "-o", exe,
                                    "-lcmocka", "-pthread"], cwd=ROOT)
        if b.returncode != 0:
            print("[%s] STALE: does not compile:\n%s" % (name, b.stdout[-1500:]))
            stale += 1
            continue
        r = run([exe], cwd=ROOT, env=dict(os.environ, MT_WATCHDOG_S="10"), timeout=300)
        fails = {t for t in failed_tests(r.stdout) if not t.startswith("test_DEFECT_")}
        hang = re.search(r"^\[  HANG    \] (\S+):", r.stdout, re.M)
        ex_fails = set()
        if want_ex:
            e = run(["bash", "examples/testing/run.sh"], cwd=ROOT,
                    env=dict(os.environ, MEMO_INCLUDE=d, EXAMPLES_OUT=os.path.join(d, "examples"),
                             TESTING_SANITIZERS="none"), timeout=600)
            ex_fails = set(re.findall(r"^\[examples/testing\] (\S+) \(\w+\): .*FAILED", e.stdout, re.M))
        ok = set(want) <= fails and set(want_ex) <= ex_fails
        print("[%s] %s -- %s: suite failed %s%s%s" % (
            name, "caught" if ok else "MISSED", what, ", ".join(sorted(fails)) or "nothing",
            " (hang: %s)" % hang.group(1) if hang else "",
            "; examples failed %s" % (", ".join(sorted(ex_fails)) or "nothing") if want_ex else ""))
        if not ok:
            print("    want failing: %s" % ", ".join(sorted(set(want) - fails) + sorted(set(want_ex) - ex_fails)))
        caught += ok
        missed += not ok
    print("mutants: %d caught, %d missed, %d stale" % (caught, missed, stale))
    return 0 if missed == 0 and stale == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
