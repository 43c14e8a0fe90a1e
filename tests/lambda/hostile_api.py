#!/usr/bin/env python3
"""hostile_api.py BOOTSTRAP -- the C Lambda runtime against a hostile Runtime API.

A fake Lambda Runtime API (Python standard library only, 127.0.0.1, a free
port) serves each scenario to a fresh BOOTSTRAP process (SQLite handler,
DATABASE_URL unset): first the hostile answer(s) to GET .../invocation/next,
then one ordinary event "ok-<scenario>".  It records every request the runtime
makes and checks, per scenario:

  - the ordinary event after the hostile one is answered, on
    /2018-06-01/runtime/invocation/ok-<scenario>/response, with its own seq;
  - no POST goes anywhere but /2018-06-01/runtime/invocation/{id}/response|error
    for an id that may be answered (a refused id gets no POST at all), and no
    other request is made;
  - the hostile event itself gets what it should: nothing (a refused id), an
    error POST of a given errorType, or a normal answer;
  - the runtime still runs, and its stderr holds no raw CR (an id is not
    echoed as it came);
  - for some, timing: paced retries, a long poll that is not cut, a read
    deadline that is kept.

Then the SIGTERM scenarios ("sigterm-*"): the runtime gets SIGTERM while it
waits in the long poll, while an invocation is in flight (an event with
"sleep_ms"), while an event is still arriving, and while it pauses after failed
GETs.  Each checks that the runtime exits 0 within a bound, that an invocation
begun before the SIGTERM is answered first (and no GET follows it), and that
stderr shows the SQLite destructor's line and then the shutdown line
(memo_shutdown's return code).

The runtime is told MEMO_LAMBDA_EVENT_READ_MS=1000.  Waits are on events (a
condition variable signalled by the server); each scenario is bounded (8 s)
and so is the whole run (120 s).  Prints one line per scenario and
"N passed, N failed"; exits 1 if any failed.  `--list` prints the scenarios;
names given after BOOTSTRAP run only those.
"""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

READ_MS = 1000          # the runtime's event read deadline in this test
SCENARIO_S = 8.0        # one scenario, at most
OVERALL_S = 120.0       # the whole run, at most
LIMIT = 6291456         # Lambda's event size limit
PREFIX = "/2018-06-01/runtime"
NEXT = PREFIX + "/invocation/next"
POST_PATH = re.compile(r"/2018-06-01/runtime/invocation/([^/]+)/(response|error)")


# --- the fake Runtime API ---------------------------------------------------------

def read_request(f):
    """(method, path, headers, body) of the next request on f, or None at EOF."""
    line = f.readline(8192)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3:
        raise OSError("bad request line %r" % line[:80])
    headers = {}
    while True:
        h = f.readline(65536)
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length") or 0)
    if n > 16 * 1024 * 1024:
        raise OSError("request body of %d bytes" % n)
    body = f.read(n) if n else b""
    return parts[0], parts[1], headers, body


class FakeApi:
    """Serves plan[i] to the i-th GET next; later GETs are held unanswered (the
    long poll) until close()."""

    def __init__(self, plan):
        self.plan = plan
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.gets = []       # time.monotonic() of each GET next
        self.served = []     # time each plan step began to be sent
        self.posts = []      # {"path", "headers", "body", "t"}
        self.other = []      # requests outside the protocol
        self.exited = None   # the runtime's exit status, if it exited
        self.exit_t = None   # and when
        self.sent = []       # time a step's bytes were handed to the socket (sent_then)
        self.conns = []
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            with self.cond:
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(SCENARIO_S + 5)
        f = conn.makefile("rb")
        keep = True
        try:
            while keep and not self.stop.is_set():
                req = read_request(f)
                if req is None:
                    break
                method, path, headers, body = req
                now = time.monotonic()
                if method == "GET" and path == NEXT:
                    with self.cond:
                        self.gets.append(now)
                        i = len(self.gets) - 1
                        if i < len(self.plan):
                            self.served.append(now)
                        self.cond.notify_all()
                    if i >= len(self.plan):
                        self.stop.wait()  # held: the runtime waits for an event
                        break
                    keep = self.plan[i](self, conn)
                elif method == "POST":
                    with self.cond:
                        self.posts.append({"path": path, "headers": headers, "body": body, "t": now})
                        self.cond.notify_all()
                    msg = b'{"status":"OK"}'
                    conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n%s" % (len(msg), msg))
                else:
                    with self.cond:
                        self.other.append("%s %s" % (method, path))
                        self.cond.notify_all()
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        except (OSError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def wait_for(self, pred, timeout):
        with self.cond:
            return self.cond.wait_for(pred, timeout)

    def close(self):
        self.stop.set()
        for s in [self.lsock] + self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


# --- what the fake API answers --------------------------------------------------------

def rid(value):
    return b"Lambda-Runtime-Aws-Request-Id: " + value + b"\r\n"


def head(headers, length=None, status=b"200 OK"):
    h = b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n" + headers
    if length is not None:
        h += b"Content-Length: %d\r\n" % length
    return h + b"\r\n"


def event(headers, body=b'{"seq":1}', status=b"200 OK"):
    """A whole answer; the connection stays open."""
    def step(api, conn):
        conn.sendall(head(headers, len(body), status) + body)
        return True
    return step


def padded(seq, size):
    """A JSON event of exactly size bytes."""
    start, end = b'{"seq":%d,"pad":"' % seq, b'"}'
    return start + b"A" * (size - len(start) - len(end)) + end


def sized(headers, size, chunked=False):
    """An event of `size` bytes, with Content-Length or chunked; the runtime may
    hang up midway."""
    def step(api, conn):
        body = padded(1, size)
        try:
            if not chunked:
                conn.sendall(head(headers, len(body)) + body)
                return True
            conn.sendall(head(headers + b"Transfer-Encoding: chunked\r\n"))
            for i in range(0, len(body), 65536):
                piece = body[i:i + 65536]
                conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            conn.sendall(b"0\r\n\r\n")
            return True
        except OSError:
            return False
    return step


def trickle(first, unit, every=0.1):
    """Sends `first`, then `unit` every `every` seconds until the runtime hangs up
    or the scenario ends."""
    def step(api, conn):
        try:
            conn.sendall(first)
            while not api.stop.wait(every):
                conn.sendall(unit)
        except OSError:
            pass
        return False
    return step


def stall(first):
    """Sends `first`, then nothing until the scenario ends."""
    def step(api, conn):
        conn.sendall(first)
        api.stop.wait()
        return False
    return step


def reset(first):
    """Sends `first`, then resets the connection (RST, not FIN)."""
    def step(api, conn):
        conn.sendall(first)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        return False
    return step


def hang_up(api, conn):
    """No answer at all: the connection closes."""
    return False


def after(seconds, step):
    """The long poll: answers `step` only after `seconds`."""
    def delayed(api, conn):
        if api.stop.wait(seconds):
            return False
        return step(api, conn)
    return delayed


# --- the scenarios ------------------------------------------------------------------

class Scenario:
    def __init__(self, name, what, steps, hostile=None, expect="skip", check=None):
        self.name, self.what, self.steps = name, what, steps
        self.hostile = hostile   # the id whose fate is checked (str), if any
        self.expect = expect     # "skip" | "error:<errorType>" | "response"
        self.check = check       # f(api, scenario) -> problem text or None
        self.ok_id = "ok-" + name


def paced(api, sc):
    """Failed GETs are paced: >= 80 ms, then >= 160 ms apart (100, 200 ms nominal)."""
    g = api.gets
    if len(g) < 3:
        return "only %d GETs" % len(g)
    gaps = [round((b - a) * 1000) for a, b in zip(g, g[1:3])]
    return None if gaps[0] >= 80 and gaps[1] >= 160 else "GETs not paced: gaps %s ms" % gaps


def long_poll_kept(api, sc):
    """One GET waited the whole 2.5 s for its event: the read deadline did not cut it."""
    answered = [p["t"] for p in api.posts if p["path"].endswith("/held-1/response")]
    if not answered:
        return None  # reported as the missing answer
    before = [t for t in api.gets if t < answered[0]]
    return None if len(before) == 1 else "%d GETs before the held event was answered" % len(before)


def deadline_kept(api, sc):
    """The error came between READ_MS and READ_MS + 2.5 s after the answer began."""
    errs = [p["t"] for p in api.posts if p["path"].endswith("/%s/error" % sc.hostile)]
    if not errs or not api.served:
        return None
    took = errs[0] - api.served[0]
    lo, hi = READ_MS / 1000 - 0.05, READ_MS / 1000 + 2.5
    return None if lo <= took <= hi else "error after %.2f s, expected %.2f..%.2f s" % (took, lo, hi)


def scenarios():
    ok = event  # readability
    s = [
        Scenario("dot", 'id "." (libcurl would POST to /runtime/invocation/response)',
                 [ok(rid(b"."))], "."),
        Scenario("dotdot", 'id ".." (libcurl would POST to /runtime/response)',
                 [ok(rid(b".."))], ".."),
        Scenario("punct-only", 'id "-._-": no letter or digit', [ok(rid(b"-._-"))], "-._-"),
        Scenario("slash", 'id "/"', [ok(rid(b"/"))], "/"),
        Scenario("dotdot-slash", 'id "../../init/error"', [ok(rid(b"../../init/error"))], "../../init/error"),
        Scenario("pct-2e", 'id "%2e" (an encoded dot)', [ok(rid(b"%2e"))], "%2e"),
        Scenario("pct-2e2e", 'id "%2e%2e"', [ok(rid(b"%2e%2e"))], "%2e%2e"),
        Scenario("pct-crlf", 'id "abc%0d%0aX-Evil:%201" (encoded CRLF)',
                 [ok(rid(b"abc%0d%0aX-Evil:%201"))], "abc%0d%0aX-Evil:%201"),
        Scenario("bare-cr", 'id "abc<CR>X-Evil: 1" (a CR inside the value)',
                 [ok(rid(b"abc\rX-Evil: 1"))], "abc\rX-Evil: 1"),
        Scenario("nul", 'id "ab<NUL>cd" (libcurl refuses the answer)', [ok(rid(b"ab\0cd"))], "ab\0cd"),
        Scenario("space", 'id "ab cd"', [ok(rid(b"ab cd"))], "ab cd"),
        Scenario("empty", "an empty id", [ok(rid(b""))], ""),
        Scenario("overlong", "an id of 200 bytes", [ok(rid(b"a" * 200))], "a" * 200),
        Scenario("missing", "no id header", [ok(b"")]),
        Scenario("two-ids", "two different id headers", [ok(rid(b"id-a") + rid(b"id-b"))], "id-b"),
        Scenario("folded", 'id "fold-1" continued on a folded line " ../x"',
                 [ok(rid(b"fold-1") + b" ../x\r\n")], "fold-1"),
        Scenario("status-500", "two HTTP 500 answers (with an id) before the event",
                 [ok(rid(b"e500"), b"oops", b"500 Internal Server Error")] * 2, "e500", check=paced),
        Scenario("hang-up", "two connections closed without an answer", [hang_up, hang_up],
                 check=paced),
        Scenario("reset", "a reset midway through the body", [
            reset(head(rid(b"rst-1"), 1000) + b'{"seq":')], "rst-1", "error:Runtime.EventNotReceived"),
        Scenario("trickle", "the body one byte every 100 ms", [
            trickle(head(rid(b"slow-1"), 1000) + b'{"seq":1,"pad":"', b"A")], "slow-1",
            "error:Runtime.EventTooSlow", check=deadline_kept),
        Scenario("stall", "part of the body, then silence", [
            stall(head(rid(b"stall-1"), 1000) + b'{"seq":1,')], "stall-1",
            "error:Runtime.EventTooSlow", check=deadline_kept),
        Scenario("slow-headers", "after the id, one header line every 100 ms", [
            trickle(b"HTTP/1.1 200 OK\r\n" + rid(b"slowh-1"), b"X-Drip: 1\r\n")], "slowh-1",
            "error:Runtime.EventTooSlow", check=deadline_kept),
        Scenario("long-poll", "the event comes 2.5 s after the GET (the long poll)",
                 [after(2.5, ok(rid(b"held-1")))], "held-1", "response", check=long_poll_kept),
        Scenario("big", "a 7 MB event with Content-Length", [sized(rid(b"big-1"), 7 * 1024 * 1024)],
                 "big-1", "error:Runtime.EventTooLarge"),
        Scenario("big-chunked", "a 7 MB event, chunked",
                 [sized(rid(b"bigc-1"), 7 * 1024 * 1024, chunked=True)], "bigc-1",
                 "error:Runtime.EventTooLarge"),
        Scenario("at-limit", "an event of exactly 6291456 bytes", [sized(rid(b"limit-1"), LIMIT)],
                 "limit-1", "response"),
        Scenario("huge-header", "a 200 KB header line after the id",
                 [ok(rid(b"h1") + b"X-Pad: " + b"B" * 200000 + b"\r\n")], "h1",
                 "error:Runtime.EventNotReceived"),
        Scenario("many-headers", "2000 header lines of 50 bytes after the id",
                 [ok(rid(b"mh-1") + b"".join(b"X-H%04d: %s\r\n" % (i, b"c" * 40) for i in range(2000)))],
                 "mh-1", "error:Runtime.EventNotReceived"),
    ]
    for sc in s:
        sc.steps = list(sc.steps) + [event(rid(sc.ok_id.encode()), b'{"seq":2}')]
    return s


# --- SIGTERM --------------------------------------------------------------------------

SIGTERM_EXIT_S = 1.0    # from SIGTERM (or from the last answer) to the exit, at most


def sent_then(step):
    """step, then notes when its bytes were in the socket."""
    def noted(api, conn):
        def mark():
            with api.cond:
                api.sent.append(time.monotonic())
                api.cond.notify_all()
        orig = conn.sendall

        class Marked:
            def sendall(self, data):
                orig(data)
                mark()

            def __getattr__(self, name):
                return getattr(conn, name)
        return step(api, Marked())
    return noted


def stderr_has(path, pattern, timeout):
    """Polls the runtime's stderr file for a regex (bytes), up to timeout s
    (a condition the runtime's own log shows; the poll is every 20 ms)."""
    end = time.monotonic() + timeout
    while True:
        with open(path, "rb") as f:
            if re.search(pattern, f.read()):
                return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)


class SigtermScenario:
    """steps: the plan of the fake API; ready(api, errpath): waits (bounded) until
    the moment to send SIGTERM, returns a problem text or None; expect: the
    only POST allowed ("id/response|error") or None; after(api, t_term): more
    checks.  exit_s: SIGTERM to exit, at most."""

    def __init__(self, name, what, steps, ready, expect=None, after=None, exit_s=SIGTERM_EXIT_S):
        self.name, self.what, self.steps = name, what, steps
        self.ready, self.expect, self.after, self.exit_s = ready, expect, after, exit_s


def posted(api, id_, kind):
    return [p for p in api.posts if p["path"] == "%s/invocation/%s/%s" % (PREFIX, id_, kind)]


def answered_then_exited(id_, kind, error_type=None):
    """The invocation was answered (seq 1, or error_type), before the exit,
    which came within SIGTERM_EXIT_S of it; no GET after the SIGTERM."""
    def check(api, t_term):
        got = posted(api, id_, kind)
        if len(got) != 1:
            return "%d POSTs to %s/%s, expected 1" % (len(got), id_, kind)
        try:
            body = json.loads(got[0]["body"])
        except ValueError:
            return "the answer is not JSON: %r" % got[0]["body"][:200]
        if error_type is None and body.get("seq") != 1:
            return "the answer has seq %r, not 1" % body.get("seq")
        if error_type is not None and body.get("errorType") != error_type:
            return "errorType %r, expected %r" % (body.get("errorType"), error_type)
        if api.exit_t is not None and not got[0]["t"] <= api.exit_t <= got[0]["t"] + SIGTERM_EXIT_S:
            return "exited %.2f s after the answer, expected 0..%.1f" % (api.exit_t - got[0]["t"], SIGTERM_EXIT_S)
        if len(api.gets) != 1:
            return "%d GETs: the runtime asked for another event after the SIGTERM" % len(api.gets)
        return None
    return check


def sigterm_scenarios():
    def idle_ready(api, errpath):
        ok = api.wait_for(lambda: posted(api, "t-idle", "response") and len(api.gets) >= 2, SCENARIO_S)
        return None if ok else "never reached the long poll after answering t-idle"

    def idle_after(api, t_term):
        if len(api.gets) != 2:
            return "%d GETs, expected 2 (one answered, one held)" % len(api.gets)
        return None

    def busy_ready(api, errpath):
        ok = stderr_has(errpath, rb"invocation 1: working for 1500 ms", SCENARIO_S)
        return None if ok else "the handler never started on t-busy"

    def stall_ready(api, errpath):
        ok = api.wait_for(lambda: api.sent, SCENARIO_S)
        return None if ok else "the stalled event was never sent"

    def backoff_ready(api, errpath):
        # The runtime logs the 5th failed GET, then pauses 2 s: SIGTERM must
        # cut that pause short (a SIGTERM before the answer would only end
        # the long poll).
        ok = stderr_has(errpath, rb"(?s)(invocation/next: HTTP 500.*){5}", SCENARIO_S)
        return None if ok else "only %d GETs" % len(api.gets)

    def backoff_after(api, t_term):
        return None if len(api.gets) == 5 else "%d GETs, expected 5 (none after SIGTERM)" % len(api.gets)

    return [
        SigtermScenario("sigterm-idle", "SIGTERM in the long poll, after one answered event",
                        [event(rid(b"t-idle"), b'{"seq":1}')], idle_ready, "t-idle/response",
                        idle_after),
        SigtermScenario("sigterm-inflight", "SIGTERM while an invocation runs (sleep_ms 1500)",
                        [event(rid(b"t-busy"), b'{"seq":1,"sleep_ms":1500}')], busy_ready,
                        "t-busy/response", answered_then_exited("t-busy", "response"), exit_s=3.0),
        SigtermScenario("sigterm-arriving", "SIGTERM while an event arrives (stalled body)",
                        [sent_then(stall(head(rid(b"t-stall"), 1000) + b'{"seq":1,'))], stall_ready,
                        "t-stall/error",
                        answered_then_exited("t-stall", "error", "Runtime.EventTooSlow"),
                        exit_s=READ_MS / 1000 + 2.5),
        SigtermScenario("sigterm-backoff", "SIGTERM in the 2 s pause after 5 failed GETs",
                        [event(rid(b"e500"), b"oops", b"500 Internal Server Error")] * 8,
                        backoff_ready, None, backoff_after),
    ]


def run_sigterm(bootstrap, sc, tmp, budget):
    api = FakeApi(sc.steps)
    errpath = os.path.join(tmp, "stderr.%s.log" % sc.name)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % api.port,
           "SQLITE_PATH": os.path.join(tmp, "sigterm.sqlite3"),
           "MEMO_LAMBDA_EVENT_READ_MS": str(READ_MS)}
    with open(errpath, "wb") as err:
        proc = subprocess.Popen([bootstrap], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)

    def reap():
        rc = proc.wait()
        with api.cond:
            api.exited, api.exit_t = rc, time.monotonic()
            api.cond.notify_all()
    threading.Thread(target=reap, daemon=True).start()

    problems = []
    t_term = None
    not_ready = sc.ready(api, errpath)
    with api.cond:
        early = api.exited
    if not_ready or early is not None:
        problems.append(not_ready or "the runtime exited (status %d) before the SIGTERM" % early)
    else:
        t_term = time.monotonic()
        proc.send_signal(signal.SIGTERM)  # our own child
        api.wait_for(lambda: api.exited is not None, min(sc.exit_s + 2, budget))
    with api.cond:
        exited, exit_t = api.exited, api.exit_t
    if exited is None:
        proc.kill()
    proc.wait()
    api.close()

    if t_term is not None:
        if exited is None:
            problems.append("still running %.1f s after SIGTERM" % (sc.exit_s + 2))
        else:
            took = exit_t - t_term
            if exited != 0:
                problems.append("exit status %d after SIGTERM, expected 0" % exited)
            if took > sc.exit_s:
                problems.append("exited %.2f s after SIGTERM, expected <= %.1f s" % (took, sc.exit_s))
    with open(errpath, "rb") as f:
        stderr = f.read()
    pid = proc.pid
    closed = re.search(rb"memo-lambda\[%d\]: closed the SQLite database \S+ \(sqlite3_close: not an error\)" % pid, stderr)
    shut = re.search(rb"memo-lambda\[%d\]: SIGTERM \(from pid \d+\) with no invocation in flight: "
                     rb"memo_shutdown\(\) returned 0 " % pid, stderr)
    if t_term is not None:
        if not shut:
            problems.append("no shutdown line (memo_shutdown() returned 0) on stderr")
        if not closed:
            problems.append("no destructor line (closed the SQLite database) on stderr")
        elif shut and closed.start() > shut.start():
            problems.append("the destructor's line comes after the shutdown line")
    allowed = {sc.expect} if sc.expect else set()
    for p in api.posts:
        m = POST_PATH.fullmatch(p["path"])
        if not m or "%s/%s" % m.groups() not in allowed:
            problems.append("unexpected POST %r" % p["path"])
    problems += ["request outside the protocol: %r" % o for o in api.other]
    if sc.expect and not any(POST_PATH.fullmatch(p["path"]) and
                             "%s/%s" % POST_PATH.fullmatch(p["path"]).groups() == sc.expect
                             for p in api.posts):
        problems.append("no POST to %s" % sc.expect)
    if sc.after and t_term is not None:
        p = sc.after(api, t_term)
        if p:
            problems.append(p)
    if b"\r" in stderr:
        problems.append("a raw CR in the runtime's stderr")
    return problems, stderr


# --- running one scenario ---------------------------------------------------------------

def post_problems(api, sc):
    problems = []
    allowed = {sc.ok_id + "/response"}
    if sc.expect.startswith("error:"):
        allowed.add(sc.hostile + "/error")
    elif sc.expect == "response":
        allowed.add(sc.hostile + "/response")
    for p in api.posts:
        m = POST_PATH.fullmatch(p["path"])
        if not m or "%s/%s" % m.groups() not in allowed:
            problems.append("unexpected POST %r" % p["path"])
    problems += ["request outside the protocol: %r" % o for o in api.other]
    return problems


def answered(api, id_, kind):
    return [p for p in api.posts if p["path"] == "%s/invocation/%s/%s" % (PREFIX, id_, kind)]


def run(bootstrap, sc, tmp, budget):
    api = FakeApi(sc.steps)
    errpath = os.path.join(tmp, "stderr.%s.log" % sc.name)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % api.port,
           "SQLITE_PATH": os.path.join(tmp, "hostile.sqlite3"),
           "MEMO_LAMBDA_EVENT_READ_MS": str(READ_MS)}
    with open(errpath, "wb") as err:
        proc = subprocess.Popen([bootstrap], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)

    def reap():
        rc = proc.wait()
        with api.cond:
            api.exited = rc
            api.cond.notify_all()
    threading.Thread(target=reap, daemon=True).start()

    api.wait_for(lambda: answered(api, sc.ok_id, "response") or api.exited is not None,
                 min(SCENARIO_S, budget))
    with api.cond:
        exited = api.exited
    if exited is None:
        proc.kill()  # our own child
    proc.wait()
    api.close()

    problems = []
    ok_posts = answered(api, sc.ok_id, "response")
    if not ok_posts:
        problems.append("the next event (%s) was not answered on %s/invocation/%s/response"
                        % (sc.ok_id, PREFIX, sc.ok_id) +
                        (" within %.0f s" % SCENARIO_S if exited is None else ""))
    else:
        try:
            seq = json.loads(ok_posts[0]["body"]).get("seq")
        except ValueError:
            seq = None
        if seq != 2:
            problems.append("the next event's answer has seq %r, not 2" % seq)
    problems += post_problems(api, sc)
    if sc.expect.startswith("error:"):
        want = sc.expect[6:]
        errs = answered(api, sc.hostile, "error")
        if len(errs) != 1:
            problems.append("%d error POSTs for %r, expected 1" % (len(errs), sc.hostile))
        else:
            try:
                got = json.loads(errs[0]["body"]).get("errorType")
            except ValueError:
                got = "(not JSON)"
            hdr = errs[0]["headers"].get("lambda-runtime-function-error-type")
            if got != want or hdr != want:
                problems.append("errorType %r, header %r, expected %r" % (got, hdr, want))
    elif sc.expect == "response" and not answered(api, sc.hostile, "response"):
        problems.append("%r was not answered" % sc.hostile)
    if sc.check:
        p = sc.check(api, sc)
        if p:
            problems.append(p)
    if exited is not None:
        problems.append("the runtime exited with status %d" % exited)
    with open(errpath, "rb") as f:
        stderr = f.read()
    if b"\r" in stderr:
        problems.append("a raw CR in the runtime's stderr")
    return problems, stderr


def main(argv):
    if len(argv) >= 2 and argv[1] == "--list":
        for sc in scenarios():
            print("%-16s %s -> %s" % (sc.name, sc.what, sc.expect))
        for sc in sigterm_scenarios():
            print("%-16s %s -> exit 0%s" % (sc.name, sc.what, ", after %s" % sc.expect if sc.expect else ""))
        return 0
    if len(argv) < 2 or not os.access(argv[1], os.X_OK):
        print("usage: hostile_api.py BOOTSTRAP [SCENARIO...] | --list", file=sys.stderr)
        return 2
    bootstrap, only = os.path.abspath(argv[1]), set(argv[2:])
    todo = [sc for sc in scenarios() + sigterm_scenarios() if not only or sc.name in only]
    if only - {sc.name for sc in todo}:
        print("unknown scenario(s): %s" % " ".join(sorted(only - {sc.name for sc in todo})), file=sys.stderr)
        return 2
    end = time.monotonic() + OVERALL_S
    passed = failed = 0
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="memo-hostile-api.") as tmp:
        for sc in todo:
            budget = end - time.monotonic()
            if budget <= 1:
                print("FAIL %-16s not run: the run's %.0f s are up" % (sc.name, OVERALL_S))
                failed += 1
                continue
            t = time.monotonic()
            runner = run_sigterm if isinstance(sc, SigtermScenario) else run
            problems, stderr = runner(bootstrap, sc, tmp, budget)
            took = time.monotonic() - t
            if problems:
                failed += 1
                print("FAIL %-16s %s (%.1f s)" % (sc.name, sc.what, took))
                for p in problems:
                    print("       - %s" % p)
                tail = stderr.decode("latin-1").replace("\r", "\\r").splitlines()[-4:]
                for line in tail:
                    print("       | %s" % line[:200])
            else:
                passed += 1
                print("ok   %-16s %s -> %s (%.1f s)" % (sc.name, sc.what, sc.expect or "exit 0", took))
    print("hostile Runtime API: %d scenarios in %.1f s" % (len(todo), time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
