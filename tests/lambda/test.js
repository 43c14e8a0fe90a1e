'use strict';
// test.js -- runs examples/lambda's C custom runtime under @vercel/fun (a local
// Lambda emulator: real Runtime API, a pool of bootstrap processes frozen with
// SIGSTOP between invocations) and checks that each process opens its database
// connection once and reuses it, and that SIGTERM (Lambda's shutdown phase)
// ends it cleanly: the connection closed by memo_shutdown, exit status 0.  Started by run.sh, which builds the bootstrap
// and runs a throwaway PostgreSQL; configuration comes from the environment:
//
//   TASK_DIR          folder holding the `bootstrap` binary (required)
//   DATABASE_URL      the good PostgreSQL URL (password auth, application_name unset)
//   BAD_PASSWORD_URL  the same with a wrong password
//   DOWN_URL          a URL whose port has no server
//   PG_LOG            the server's log file (log_connections=on)
//   SQLITE_PATH       a fresh SQLite file for the SQLite run
//   BOOTSTRAP_STDERR  the file the bootstraps' stderr goes to (this script's
//                     stderr: fun lets its children inherit it), for the
//                     SIGTERM scenarios' log lines
//   INVOCATIONS, CONCURRENCY   default 200 and 8
//
// Ends with "N passed, N failed"; the exit status is 1 on any failure.
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { createFunction } = require('@vercel/fun');

const env = process.env;
const TASK_DIR = env.TASK_DIR;
const N = Number(env.INVOCATIONS || 200);
const CONCURRENCY = Number(env.CONCURRENCY || 8);
const INVOKE_TIMEOUT_MS = 30000;
const APP = 'memo-lambda'; // the handler's fallback_application_name

let passed = 0;
let failed = 0;
const summary = [];

function check(name, ok, detail) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${!ok && detail !== undefined ? ` -- ${detail}` : ''}`);
  return ok;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- driving the emulator ---------------------------------------------------

async function withFunction(name, variables, body) {
  const fn = await createFunction({
    FunctionName: name,
    Code: { Directory: TASK_DIR },
    Handler: 'x', // a custom runtime ignores it (it is _HANDLER)
    Runtime: 'provided',
    Environment: { Variables: variables }, // the bootstrap's env is this, not ours
  });
  try {
    return await body(fn);
  } finally {
    await destroy(fn);
  }
}

// fn.destroy() drains the pool, which waits for every borrowed process: a
// bootstrap that never answers would hang it.  Then kill our children by pid
// (generic-pool's list of them is internal) so that their invocations end.
async function destroy(fn) {
  const done = fn.destroy().then(() => true);
  if (await Promise.race([done, sleep(10000).then(() => false)])) return;
  console.log(`destroy of ${fn.functionName} stalled: killing its processes`);
  for (const res of fn.provider.pool._allObjects || []) {
    try { process.kill(res.obj.pid, 'SIGKILL'); } catch { /* gone already */ }
  }
  await done;
}

async function invokeOne(fn, seq, extra = {}) {
  const t0 = process.hrtime.bigint();
  let timer;
  try {
    const r = await Promise.race([
      fn.invoke({ InvocationType: 'RequestResponse', Payload: JSON.stringify({ seq, ...extra }) }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${INVOKE_TIMEOUT_MS} ms`)), INVOKE_TIMEOUT_MS);
      }),
    ]);
    let body;
    try { body = JSON.parse(String(r.Payload)); } catch { body = { unparsable: String(r.Payload) }; }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { seq, ok: !r.FunctionError, functionError: r.FunctionError, body, ms };
  } catch (e) {
    return { seq, ok: false, functionError: 'Invoke', body: { errorMessage: String(e.message || e) }, ms: 0 };
  } finally {
    clearTimeout(timer);
  }
}

// count invocations, `concurrency` at a time; results in seq order.
async function invokeMany(fn, count, concurrency, seq0 = 0) {
  const results = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await invokeOne(fn, seq0 + i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

// --- looking at the results -------------------------------------------------

function byPid(results) {
  const m = new Map();
  for (const r of results) {
    if (typeof r.body.pid !== 'number') continue;
    if (!m.has(r.body.pid)) m.set(r.body.pid, []);
    m.get(r.body.pid).push(r);
  }
  for (const list of m.values()) list.sort((a, b) => a.body.invocation - b.body.invocation);
  return m;
}

const maxOf = (list, f) => list.reduce((m, r) => Math.max(m, f(r)), 0);

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

// Latency of cold invocations (a process's first: start, init, connect) and
// warm ones (the connection reused), as the caller of fn.invoke() saw it.
function latency(results) {
  const q = (list, p) => list[Math.min(list.length - 1, Math.floor(p * list.length))].toFixed(1);
  const part = (name, list) => {
    const ms = list.map((r) => r.ms).sort((a, b) => a - b);
    return ms.length ? `${name} p50 ${q(ms, 0.5)} ms, p99 ${q(ms, 0.99)} ms` : `${name} n/a`;
  };
  const ok = results.filter((r) => r.ok);
  return `${part('cold', ok.filter((r) => r.body.invocation === 1))}; ` +
    `${part('warm', ok.filter((r) => r.body.invocation > 1))}`;
}

function firstFailure(results) {
  const r = results.find((x) => !x.ok);
  return r ? `seq ${r.seq}: ${r.functionError} ${JSON.stringify(r.body)}` : '';
}

function pgLogCount(re) {
  const text = fs.readFileSync(env.PG_LOG, 'utf8');
  return text.split('\n').filter((l) => re.test(l)).length;
}
const AUTHORIZED = new RegExp(`connection authorized: .*application_name=${APP}`);
const BAD_PASSWORD = /password authentication failed for user/;

function psql(sql) {
  return execFileSync('psql', ['-XAtq', '-d', env.DATABASE_URL, '-c', sql], { encoding: 'utf8' }).trim();
}

// Checks shared by the PostgreSQL and SQLite runs of `count` good invocations.
// `procs` is the number of bootstrap processes alive in fun's pool (its size):
// normally the processes that answered, but one started near the end may have
// had nothing left to answer (it still connected, during INIT).
function checkReuse(label, fn, results, count) {
  const pids = byPid(results);
  const max = fn.provider.pool.max;
  const procs = fn.provider.pool.size;
  check(`${label}: all ${count} invocations succeeded`, results.every((r) => r.ok),
    `${results.filter((r) => !r.ok).length} failed; first: ${firstFailure(results)}`);
  check(`${label}: every answer belongs to its event`, results.every((r) => r.body.seq === r.seq));
  check(`${label}: ${pids.size} bootstrap processes answered, ${procs} alive <= pool max ${max}`,
    pids.size >= 1 && pids.size <= procs && procs <= max && [...pids.keys()].every(alive));
  const counted = [...pids.values()].every((list) => list.every((r, i) => r.body.invocation === i + 1));
  check(`${label}: each process counted its own invocations 1..k (globals survive warm invocations)`, counted);
  const opened = [...pids.values()].reduce((s, list) => s + maxOf(list, (r) => r.body.connections_opened), 0);
  check(`${label}: connections opened ${opened} == processes ${pids.size} (not invocations ${count})`,
    opened === pids.size && [...pids.values()].every((l) => l.every((r) => r.body.connections_opened === 1)));
  return { pids, opened, procs };
}

// --- SIGTERM: the shutdown phase ----------------------------------------------
//
// Lambda sends SIGTERM to a (thawed) runtime when it shuts the environment
// down, and SIGKILL when the grace period (300 ms for the runtime) is over.
// The runtime must exit 0 after memo_shutdown(), which closes the database
// connection with its destructor: PQfinish sends Terminate, and the server
// logs a normal disconnection.  These sessions ask the server to log
// disconnections and DEBUG1 messages, where PostgreSQL reports a client that
// vanished without Terminate ("unexpected EOF on client connection").

const SIGTERM_EXIT_MS = 1000; // SIGTERM (or the last answer) to the exit, at most
const SHUTDOWN_URL = env.DATABASE_URL &&
  `${env.DATABASE_URL}?options=${encodeURIComponent('-c log_disconnections=on -c log_min_messages=debug1')}`;
const disconnected = (backend) => new RegExp(`\\[${backend}\\] LOG:  disconnection: session time`);
const unclean = (backend) =>
  new RegExp(`\\[${backend}\\] [A-Z0-9]+:  (unexpected EOF on client connection|could not receive data from client)`);

// Polls pred (sync or async) every `every` ms until it is truthy or
// timeoutMs has passed; returns its last value.  For conditions seen only
// from outside (a log line, the server's session list).
async function waitFor(pred, timeoutMs, every = 25) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v || Date.now() >= end) return v;
    await sleep(every);
  }
}

// The ChildProcess of fun's pool with this pid (generic-pool's list is internal).
function poolProcess(fn, pid) {
  for (const res of fn.provider.pool._allObjects || []) if (res.obj.pid === pid) return res.obj;
  return null;
}

// Resolves {code, signal, t} at the child's exit, or null after timeoutMs.
function exitOf(child) {
  const exited = child.exitCode !== null || child.signalCode !== null;
  return exited ? Promise.resolve({ code: child.exitCode, signal: child.signalCode, t: Date.now() })
    : new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, t: Date.now() })));
}
const within = (p, ms) => Promise.race([p, sleep(ms).then(() => null)]);

function signal(pid, sig) {
  try { process.kill(pid, sig); return true; } catch { return false; } // gone already
}

// This bootstrap's lines of stderr.
function stderrOf(pid) {
  if (!env.BOOTSTRAP_STDERR) return [];
  const tag = `memo-lambda[${pid}]: `;
  return fs.readFileSync(env.BOOTSTRAP_STDERR, 'utf8').split('\n').filter((l) => l.startsWith(tag));
}

// The shutdown line after the destructor's line (memo_shutdown runs the
// destructor, then the runtime logs what it did).
function checkShutdownLog(label, pid, destructorRe) {
  const lines = stderrOf(pid);
  const d = lines.findIndex((l) => destructorRe.test(l));
  const s = lines.findIndex((l) => /SIGTERM \(from pid \d+\) with no invocation in flight: memo_shutdown\(\) returned 0 /.test(l));
  check(`${label}: logged the destructor's line, then the shutdown line (memo_shutdown() returned 0)`,
    d >= 0 && s > d, env.BOOTSTRAP_STDERR ? lines.slice(-4).join(' | ') : 'BOOTSTRAP_STDERR is not set');
  return lines[s];
}

// The server ended the backend as a normal disconnection (the Terminate
// message), and no longer lists it.
async function checkCleanDisconnect(label, backend) {
  const gone = await waitFor(() => psql(`select count(*) from pg_stat_activity where pid = ${backend}`) === '0', 5000);
  check(`${label}: pg_stat_activity no longer lists backend ${backend}`, gone);
  const logged = await waitFor(() => pgLogCount(disconnected(backend)) === 1, 5000);
  const eof = pgLogCount(unclean(backend));
  check(`${label}: server log shows backend ${backend}'s normal disconnection, no unexpected EOF`,
    logged && eof === 0, `disconnection lines ${pgLogCount(disconnected(backend))}, EOF lines ${eof}`);
}

// SIGTERM while the runtime waits for its next event (frozen by fun between
// invocations; Lambda thaws it for the shutdown, so SIGCONT first).
async function sigtermIdleRun(label, variables, destructorRe, pg) {
  await withFunction(`memo-${label.replace(/\W+/g, '-')}`, variables, async (fn) => {
    const r = await invokeOne(fn, 1);
    if (!check(`${label}: the invocation opened the database connection`,
      r.ok && r.body.connections_opened === 1, firstFailure([r]))) return;
    const pid = r.body.pid;
    const backend = r.body.backend_pid;
    if (pg) {
      check(`${label}: the server lists its backend ${backend}`,
        psql(`select count(*) from pg_stat_activity where pid = ${backend}`) === '1');
    }
    const child = poolProcess(fn, pid);
    if (!check(`${label}: bootstrap ${pid} found in fun's pool`, child !== null)) return;
    const exited = exitOf(child);
    const t0 = Date.now();
    signal(pid, 'SIGCONT');
    signal(pid, 'SIGTERM');
    const ex = await within(exited, 5000);
    const ms = ex ? ex.t - t0 : -1;
    check(`${label}: exit status 0 within ${SIGTERM_EXIT_MS} ms of SIGTERM (${ms} ms)`,
      ex !== null && ex.code === 0 && ex.signal === null && ms <= SIGTERM_EXIT_MS, JSON.stringify(ex));
    const line = checkShutdownLog(label, pid, destructorRe(backend));
    if (pg) await checkCleanDisconnect(label, backend);
    summary.push(`${label}: exit 0 ${ms} ms after SIGTERM; ${line ? line.replace(/^memo-lambda\[\d+\]: /, '') : 'no shutdown line'}`);
  });
}

// SIGTERM while an invocation runs (its query, pg_sleep, is seen running on
// the server): the invocation is answered, then the runtime shuts down.
async function sigtermInFlightRun() {
  const label = 'postgres SIGTERM in flight';
  await withFunction('memo-pg-sigterm-busy', { DATABASE_URL: SHUTDOWN_URL }, async (fn) => {
    const r1 = await invokeOne(fn, 1);
    if (!check(`${label}: a first invocation connected`, r1.ok && r1.body.connections_opened === 1,
      firstFailure([r1]))) return;
    const pid = r1.body.pid;
    const backend = r1.body.backend_pid;
    const child = poolProcess(fn, pid);
    if (!check(`${label}: bootstrap ${pid} found in fun's pool`, child !== null)) return;
    const exited = exitOf(child);
    const busy = invokeOne(fn, 2, { sleep_ms: 2000 }); // the same, only process
    const running = await waitFor(() => psql(`select count(*) from pg_stat_activity where pid = ${backend} ` +
      `and state = 'active' and query like 'select pg_sleep%'`) === '1', 10000);
    check(`${label}: the server shows the invocation's query running on backend ${backend}`, running);
    signal(pid, 'SIGTERM');
    const r2 = await busy;
    const tAnswer = Date.now();
    // fun freezes a process after its answer; Lambda, shutting down, does not.
    signal(pid, 'SIGCONT');
    const ex = await within(exited, 5000);
    // Only that process can post the answer: answered + exited by itself = in that order.
    check(`${label}: the invocation completed and its answer was posted`,
      r2.ok && r2.body.seq === 2 && r2.body.pid === pid && r2.body.invocation === 2 &&
      r2.body.connections_opened === 1 && r2.body.backend_pid === backend, firstFailure([r2]));
    const ms = ex ? ex.t - tAnswer : -1;
    check(`${label}: then exit status 0 within ${SIGTERM_EXIT_MS} ms of the answer (${ms} ms)`,
      ex !== null && ex.code === 0 && ex.signal === null && ms <= SIGTERM_EXIT_MS, JSON.stringify(ex));
    const lines = stderrOf(pid);
    const work = lines.findIndex((l) => /invocation 2: working for 2000 ms/.test(l));
    const shut = lines.findIndex((l) => /SIGTERM .* memo_shutdown\(\) returned 0 /.test(l));
    check(`${label}: the shutdown line comes after the invocation's`, work >= 0 && shut > work, lines.join(' | '));
    checkShutdownLog(label, pid, new RegExp(`closed the PostgreSQL connection \\(backend pid ${backend}\\)`));
    await checkCleanDisconnect(label, backend);
    summary.push(`${label}: SIGTERM during a 2 s invocation; answered, then exit 0 ${ms} ms after the answer`);
  });
}

// The control: a runtime killed with SIGKILL (no memo_shutdown) leaves an
// unexpected EOF in the server log -- what the checks above look for.
async function sigkillControlRun() {
  const label = 'control: SIGKILL';
  await withFunction('memo-pg-sigkill', { DATABASE_URL: SHUTDOWN_URL }, async (fn) => {
    const r = await invokeOne(fn, 1);
    if (!check(`${label}: the invocation connected`, r.ok, firstFailure([r]))) return;
    const backend = r.body.backend_pid;
    signal(r.body.pid, 'SIGKILL');
    const eof = await waitFor(() => pgLogCount(unclean(backend)) === 1, 5000);
    check(`${label}: server log shows backend ${backend}'s unexpected EOF (the clean-disconnect check can tell)`,
      eof && pgLogCount(disconnected(backend)) === 1);
    summary.push(`${label}: the server logged an unexpected EOF for the killed runtime's backend`);
  });
}

// --- the scenarios -------------------------------------------------------------

async function postgresRun() {
  await withFunction('memo-pg', { DATABASE_URL: env.DATABASE_URL }, async (fn) => {
    const before = pgLogCount(AUTHORIZED);
    const t0 = Date.now();
    const results = await invokeMany(fn, N, CONCURRENCY);
    const secs = (Date.now() - t0) / 1000;
    const { pids, opened, procs } = checkReuse('postgres', fn, results, N);
    const backends = new Set(results.filter((r) => r.ok).map((r) => r.body.backend_pid));
    const oneBackendEach = [...pids.values()].every((l) => new Set(l.map((r) => r.body.backend_pid)).size === 1);
    check(`postgres: each process used one server backend; ${backends.size} backends in all`,
      oneBackendEach && backends.size === pids.size);
    const logged = pgLogCount(AUTHORIZED) - before;
    check(`postgres: server log shows ${logged} connections == processes ${procs}`, logged === procs);
    summary.push(`postgres: ${N} invocations (${CONCURRENCY} at a time) in ${secs.toFixed(1)} s, ` +
      `${procs} processes, ${opened} connections opened, server saw ${logged}; ${latency(results)}`);

    // A broken connection: the server ends every session of ours.  Each
    // process's next invocation fails, invalidates, and the one after reconnects.
    const killed = Number(psql(`select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = '${APP}'`));
    for (let i = 0; i < 50 && Number(psql(`select count(*) from pg_stat_activity where application_name = '${APP}'`)) > 0; i++) await sleep(100);
    check(`broken connection: server terminated ${killed} sessions == processes ${procs}`, killed === procs);
    const n2 = procs * 4;
    const again = await invokeMany(fn, n2, procs, N);
    const pids2 = byPid(again);
    const errors = again.filter((r) => !r.ok);
    check('broken connection: no new processes (handled errors keep them)',
      fn.provider.pool.size === procs && new Set([...pids.keys(), ...pids2.keys()]).size <= procs &&
      [...pids.keys(), ...pids2.keys()].every(alive));
    check(`broken connection: ${errors.length} errors, all DatabaseConnectionLost, Handled`,
      errors.length >= 1 && errors.every((r) => r.functionError === 'Handled' && r.body.errorType === 'DatabaseConnectionLost'),
      firstFailure(again));
    const pattern = [...pids2.values()].every((list) =>
      !list[0].ok && list.slice(1).every((r) => r.ok && r.body.connections_opened === 2));
    check('broken connection: each process failed once, then reconnected once (connections_opened 2)', pattern);
    const logged2 = pgLogCount(AUTHORIZED) - before;
    check(`broken connection: server log shows ${logged2} connections == processes + reconnects (${procs} + ${errors.length})`,
      logged2 === procs + errors.length);
    summary.push(`broken connection: ${killed} sessions terminated; ${n2} invocations: ${errors.length} errors ` +
      `(one per process), ${errors.length} reconnects`);
  });
}

async function sqliteRun() {
  await withFunction('memo-sqlite', { SQLITE_PATH: env.SQLITE_PATH }, async (fn) => {
    const t0 = Date.now();
    const results = await invokeMany(fn, N, CONCURRENCY);
    const secs = (Date.now() - t0) / 1000;
    const { opened, procs } = checkReuse('sqlite', fn, results, N);
    const last = await invokeOne(fn, N);
    check(`sqlite: the database file recorded ${last.body.db_opens} opens == processes ${procs}`,
      last.ok && last.body.db_opens === procs && last.body.db_open_pids === procs, JSON.stringify(last.body));
    summary.push(`sqlite: ${N} invocations (${CONCURRENCY} at a time) in ${secs.toFixed(1)} s, ` +
      `${procs} processes, ${opened} connections opened, file recorded ${last.body.db_opens}; ${latency(results)}`);
  });
}

// A database that refuses us: every invocation is an error through the
// Runtime API, and the processes live on.
async function refusedRun(label, url, count, concurrency, messageRe) {
  await withFunction(`memo-${label.replace(/\W+/g, '-')}`, { DATABASE_URL: url }, async (fn) => {
    const before = pgLogCount(BAD_PASSWORD);
    const results = await invokeMany(fn, count, concurrency);
    const pids = byPid(results);
    check(`${label}: all ${count} invocations returned a Handled DatabaseUnavailable error`,
      results.every((r) => r.functionError === 'Handled' && r.body.errorType === 'DatabaseUnavailable'),
      firstFailure(results.filter((r) => r.functionError !== 'Handled' || r.body.errorType !== 'DatabaseUnavailable')));
    check(`${label}: the error message says why`, results.every((r) => messageRe.test(r.body.errorMessage || '')),
      results[0] && results[0].body.errorMessage);
    check(`${label}: ${pids.size} processes, all alive and still in the pool (no crash)`,
      pids.size >= 1 && pids.size <= fn.provider.pool.size && fn.provider.pool.size <= fn.provider.pool.max &&
      [...pids.keys()].every(alive) && [...pids.values()].every((l) => l.every((r, i) => r.body.invocation === i + 1)));
    check(`${label}: no connection opened`, results.every((r) => r.body.connections_opened === 0));
    const attempts = [...pids.values()].reduce((s, l) => s + maxOf(l, (r) => r.body.connect_attempts), 0);
    let thrown;
    try { await fn({ seq: -1 }); } catch (e) { thrown = e; }
    check(`${label}: fn() throws the error (${thrown && thrown.name})`,
      thrown !== undefined && thrown.name === 'DatabaseUnavailable' && messageRe.test(thrown.message));
    let line = `${label}: ${count} invocations -> ${count} errors, ${pids.size} processes alive, ` +
      `${attempts} connection attempts (backoff window after each failure)`;
    if (label === 'bad password') {
      const logged = pgLogCount(BAD_PASSWORD) - before;
      // the extra fn() call above may have made one more attempt
      check(`${label}: server log shows ${logged} failed logins ~ attempts reported ${attempts}`,
        logged >= attempts && logged <= attempts + 1);
      line += `, server saw ${logged} failed logins`;
    }
    summary.push(line);
  });
}

// A malformed DATABASE_URL is a configuration error: the bootstrap reports it
// to .../init/error and exits; each invocation gets a fresh process.
async function malformedRun() {
  const secret = 'sekrit-password';
  const url = `postgres//app:${secret}@127.0.0.1/app`;
  await withFunction('memo-malformed', { DATABASE_URL: url }, async (fn) => {
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await invokeOne(fn, i));
    check('malformed URL: every invocation returned an Unhandled Runtime.InitError',
      results.every((r) => r.functionError === 'Unhandled' && r.body.errorType === 'Runtime.InitError'),
      firstFailure(results));
    check('malformed URL: the message names DATABASE_URL and hides the password',
      results.every((r) => /DATABASE_URL/.test(r.body.errorMessage) && !r.body.errorMessage.includes(secret)),
      results[0].body.errorMessage);
    check('malformed URL: the failed processes were removed from the pool', fn.provider.pool.size === 0);
    summary.push(`malformed URL: 3 invocations -> 3 init errors, processes replaced each time`);
  });
}

// The Runtime API itself failing, against a small fake API (not fun): the
// runtime must report each failure on stderr, pause before the next GET (no
// spinning), retry a failed POST, refuse a request id it cannot put in a URL,
// and carry on.
async function runtimeApiFaultRun() {
  const http = require('node:http');
  const path = require('node:path');
  const { spawn } = require('node:child_process');
  const NEXT = '/2018-06-01/runtime/invocation/next';
  const gets = []; // arrival times
  const unexpected = [];
  const held = [];
  let posts = 0;
  let response = null;
  let finished;
  const done = new Promise((resolve) => { finished = resolve; });
  // GETs: 500, dropped, dropped, event req-1, an id with "/" in it, then held.
  const plan = ['500', 'drop', 'drop', 'event', 'bad-id'];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (req.method === 'GET' && req.url === NEXT) {
        gets.push(Date.now());
        const step = plan[gets.length - 1];
        if (step === '500') { res.statusCode = 500; res.end('{"errorType":"Boom"}'); }
        else if (step === 'drop') req.socket.destroy();
        else if (step === 'event') { res.setHeader('Lambda-Runtime-Aws-Request-Id', 'req-1'); res.end('{"seq":7}'); }
        else if (step === 'bad-id') { res.setHeader('Lambda-Runtime-Aws-Request-Id', '../../init/error'); res.end('{}'); }
        else { held.push(res); finished(); }
      } else if (req.method === 'POST' && req.url === '/2018-06-01/runtime/invocation/req-1/response') {
        posts++;
        res.statusCode = posts === 1 ? 503 : 202; // the first POST fails
        if (posts > 1) response = body;
        res.end();
      } else {
        unexpected.push(`${req.method} ${req.url}`);
        res.statusCode = 404;
        res.end();
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const child = spawn(path.join(TASK_DIR, 'bootstrap'), [], {
    env: { PATH: env.PATH, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.address().port}`,
      SQLITE_PATH: path.join(path.dirname(env.SQLITE_PATH), 'api-faults.sqlite3') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let refusalSeen;
  const refusalLogged = new Promise((resolve) => { refusalSeen = resolve; });
  child.stderr.on('data', (c) => {
    stderr += c;
    if (/without a valid Lambda-Runtime-Aws-Request-Id/.test(stderr)) refusalSeen();
  });
  const t0 = Date.now();
  await Promise.race([done, sleep(15000)]);
  // The runtime logs the refused id, then GETs at once: the held GET may
  // reach us before that line is read from the pipe.
  await Promise.race([refusalLogged, sleep(2000)]);
  const stillRunning = child.exitCode === null && child.signalCode === null;
  child.kill('SIGKILL'); // our own child, by its pid
  for (const res of held) res.destroy();
  server.close();
  server.closeAllConnections();

  check('runtime API faults: the runtime went on to the held GET and was still running',
    gets.length === plan.length + 1 && stillRunning, `${gets.length} GETs, running ${stillRunning}`);
  const toEvent = gets.length >= 4 ? gets[3] - gets[0] : 0;
  check(`runtime API faults: paused between failed GETs (${toEvent} ms from the first GET to the event, >= 250)`,
    toEvent >= 250);
  check('runtime API faults: each failure explained on stderr',
    /GET http:\/\/[^ ]+\/invocation\/next: HTTP 500/.test(stderr) &&
    /invocation\/next failed: Server returned nothing/.test(stderr) &&
    /POST [^ ]+\/invocation\/req-1\/response: HTTP 503/.test(stderr) &&
    /without a valid Lambda-Runtime-Aws-Request-Id/.test(stderr), stderr);
  let answer = {};
  try { answer = JSON.parse(response); } catch { /* checked below */ }
  check('runtime API faults: the failed POST was retried and the answer delivered',
    posts === 2 && answer.seq === 7 && answer.db === 'sqlite', `${posts} POSTs, ${response}`);
  check('runtime API faults: no request outside the protocol (the bad id was not used)',
    unexpected.length === 0, unexpected.join(', '));
  summary.push(`runtime API faults: ${gets.length} GETs, ${posts} POSTs in ${Date.now() - t0} ms; ` +
    `500 / dropped / bad request id all survived`);
}

async function main() {
  if (!TASK_DIR || !fs.existsSync(`${TASK_DIR}/bootstrap`)) {
    check('TASK_DIR/bootstrap exists', false, TASK_DIR);
  } else {
    const scenarios = [];
    if (env.DATABASE_URL) {
      scenarios.push(postgresRun,
        () => refusedRun('bad password', env.BAD_PASSWORD_URL, 40, CONCURRENCY, /password authentication failed/),
        () => refusedRun('server down', env.DOWN_URL, 16, 4, /Connection refused/),
        malformedRun,
        () => sigtermIdleRun('postgres SIGTERM idle', { DATABASE_URL: SHUTDOWN_URL },
          (backend) => new RegExp(`closed the PostgreSQL connection \\(backend pid ${backend}\\)`), true),
        sigtermInFlightRun,
        sigkillControlRun);
    }
    scenarios.splice(1, 0, sqliteRun);
    scenarios.push(() => sigtermIdleRun('sqlite SIGTERM idle', { SQLITE_PATH: env.SQLITE_PATH },
      () => /closed the SQLite database \S+ \(sqlite3_close: not an error\)/, false));
    scenarios.push(runtimeApiFaultRun);
    for (const s of scenarios) {
      try {
        await s();
      } catch (e) {
        check(`scenario ${s.name || 'fault'} ran`, false, e.stack);
      }
    }
  }
  console.log('\nsummary:');
  for (const line of summary) console.log(`  ${line}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main();
