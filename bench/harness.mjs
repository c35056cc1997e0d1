// What bench/run.mjs and its scenarios share: the build, child processes (started from built JS, stopped in
// every case), autocannon and latency probes, the machine description, and a time limit on everything.
import autocannon from 'autocannon';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const { Client } = require('pg');

export const ROOT = new URL('..', import.meta.url).pathname;
export const BUILD_DIR = join(ROOT, 'var', 'bench-dist');
export const LOG_DIR = join(ROOT, 'var', 'bench-logs');
export const PROFILE_DIR = join(ROOT, 'var', 'bench-profiles');
export const PRELOAD = join(ROOT, 'bench', 'preload.js');
export const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function log(...parts) {
  const stamp = new Date().toISOString().slice(11, 19);
  console.log(`[bench ${stamp}]`, ...parts);
}

export function databaseUrl(name) {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function connect(url) {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** fn(), or a rejection after `ms` (the work itself is not cancelled: callers stop its processes). */
export async function withTimeout(label, ms, fn) {
  let timer;
  try {
    return await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${label}: not done within ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- the build: src + migrations + the bench API entry, compiled by the Nest CLI into var/bench-dist ----

function sourceFingerprint() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.[jt]s$/.test(entry.name)) hash.update(`${relative(ROOT, path)}\0`).update(readFileSync(path));
    }
  };
  walk(join(ROOT, 'src'));
  walk(join(ROOT, 'migrations'));
  for (const file of [
    'bench/fixtures/bench-api.main.ts',
    'bench/fixtures/bench-api-unaudited.main.ts',
    'bench/tsconfig.build.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'nest-cli.json',
  ]) {
    hash.update(file).update(readFileSync(join(ROOT, file)));
  }
  return hash.digest('hex');
}

/**
 * `nest build` with bench/tsconfig.build.json (same compiler options and Swagger plugin as `npm run build`,
 * plus the bench API entry), into var/bench-dist so the shared dist/ of other work is never touched. Skipped
 * when the sources are byte for byte those of the last build.
 */
export async function build({ force = false } = {}) {
  const stampFile = join(BUILD_DIR, '.bench-source-hash');
  const fingerprint = sourceFingerprint();
  if (!force && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === fingerprint) {
    return { built: false, seconds: 0 };
  }
  const started = performance.now();
  await runCommand(
    'nice',
    ['-n', '10', join(ROOT, 'node_modules/.bin/nest'), 'build', '-p', 'bench/tsconfig.build.json'],
    {
      label: 'nest build',
      timeoutMs: 15 * 60_000,
    },
  );
  writeFileSync(stampFile, fingerprint);
  return { built: true, seconds: (performance.now() - started) / 1000 };
}

/** Runs a command to completion (output to var/bench-logs/<label>.log); rejects on a non-zero exit or timeout. */
export function runCommand(command, args, { label, timeoutMs, env, input } = {}) {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${label.replace(/\W+/g, '-')}.log`);
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(command, args, {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      }),
    );
    const out = createWriteStream(logFile);
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    if (input) child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      out.end();
      if (code === 0) resolve(logFile);
      else reject(new Error(`${label} failed (${signal ?? `exit ${code}`}); see ${logFile}:\n${tail(logFile)}`));
    });
  });
}

function tail(file, lines = 25) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---- child processes: every one is tracked and stopped when the bench ends, however it ends ----

const children = new Set();
/** Process groups of spawnGroup children, until they have been stopped. */
const groups = new Set();

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Sends `signal` to the child, or to its whole process group when it leads one (spawnGroup). */
function signalChild(child, signal) {
  try {
    if (child.benchGroup) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export function stop(child, graceMs = 10_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    if (child?.benchGroup && groups.delete(child.pid)) signalChild(child, 'SIGKILL'); // what it left behind
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => signalChild(child, 'SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      if (child.benchGroup && groups.delete(child.pid)) signalChild(child, 'SIGKILL');
      resolve();
    });
    signalChild(child, 'SIGTERM');
  });
}

/**
 * A process leading its own process group (a bench script with children of its own: API, workers, S3
 * server), tracked like the others; stopping it stops the group, so nothing it started outlives the run.
 */
export function spawnGroup(command, args, options) {
  const child = track(spawn(command, args, { ...options, detached: true }));
  child.benchGroup = true;
  groups.add(child.pid);
  return child;
}

export async function stopAll() {
  await Promise.all([...children].map((child) => stop(child)));
}

process.once('exit', () => {
  for (const child of children) signalChild(child, 'SIGKILL');
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is gone
    }
  }
});

/**
 * The API's node flags as `npm run start:api` has them (package.json is their one source, as for
 * scripts/start.mjs and the Dockerfile), so a bench measures the API with the memory settings of production.
 */
export function apiNodeFlags() {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return scripts['start:api'].split(/\s+/).filter((word) => word.startsWith('--'));
}

/**
 * A Node process from built JS (`entry` relative to the repo), with bench/preload.js and an IPC channel.
 * Resolves once stdout matches `ready` (default `READY <port>`); `url` is http://127.0.0.1:<port> then.
 */
export function startNode(name, entry, { env = {}, nodeArgs = [], ready = /READY (\d+)/, timeoutMs = 120_000 } = {}) {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${name}.log`);
  const out = createWriteStream(logFile);
  const child = track(
    spawn(process.execPath, [...nodeArgs, '-r', PRELOAD, join(ROOT, entry)], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
  child.stderr.pipe(out, { end: false });
  let seq = 0;
  const pending = new Map();
  child.on('message', (message) => {
    const waiter = pending.get(message?.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message);
    else waiter.reject(new Error(`${name}: ${message.error}`));
  });
  /** One request to bench/preload.js in the child. */
  const call = (cmd, payload = {}) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, ...payload });
    });
  return withTimeout(`${name} start`, timeoutMs, () => {
    return new Promise((resolve, reject) => {
      let seen = '';
      const onData = (chunk) => {
        out.write(chunk);
        if (seen === null) return;
        seen += chunk;
        const match = typeof ready === 'string' ? seen.includes(ready) && [] : ready.exec(seen);
        if (match) {
          seen = null;
          resolve({
            name,
            child,
            pid: child.pid,
            url: match[1] ? `http://127.0.0.1:${match[1]}` : undefined,
            logFile,
            call,
            stop: () => stop(child),
          });
        } else if (seen.length > 1_000_000) seen = seen.slice(-10_000);
      };
      child.stdout.on('data', onData);
      child.once('exit', (code, signal) =>
        reject(new Error(`${name} exited (${signal ?? code}) before it was ready; see ${logFile}:\n${tail(logFile)}`)),
      );
    });
  }).catch(async (error) => {
    await stop(child, 2000);
    throw error;
  });
}

// ---- load and latency ----

/**
 * One autocannon run (in this process; the server is another process). Responses other than 2xx and
 * connection errors are counted, not thrown: callers mark the measurement invalid.
 */
export async function cannon({ pid, ...options }) {
  const cpuBefore = pid ? cpuSecondsOf(pid) : 0;
  const result = await autocannon({ connections: 10, duration: 5, ...options });
  const cpuMsPerRequest =
    pid && result.requests.total ? ((cpuSecondsOf(pid) - cpuBefore) * 1000) / result.requests.total : undefined;
  return {
    ...(cpuMsPerRequest !== undefined ? { cpuMsPerRequest } : {}),
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.average,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One GET/POST on loopback with keep-alive; resolves with { status, body } (body as text). */
export function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: text, headers: res.headers }));
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${url}: no answer within 60 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function requestJson(url, options = {}) {
  const headers = { ...(options.headers ?? {}) };
  let body;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const res = await request(url, { ...options, headers, body });
  let parsed;
  try {
    parsed = res.body ? JSON.parse(res.body) : undefined;
  } catch {
    parsed = res.body;
  }
  return { status: res.status, body: parsed };
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Latency with microsecond resolution (autocannon's histogram counts whole milliseconds): `concurrency`
 * loops of back-to-back requests for `seconds` (at least `minRequests` in total); `targets` are cycled.
 */
export async function probe(options) {
  return (await probeEach(options)).all;
}

/**
 * As probe(), with the statistics of each target too (`each[i]`): targets are interleaved request by request,
 * so a paired comparison (page 1 vs page N) sees the same background load on both sides.
 */
export async function probeEach({ targets, seconds = 3, concurrency = 1, minRequests = 50, expectStatus = 200 }) {
  const times = targets.map(() => []);
  let next = 0;
  let count = 0;
  const bad = targets.map(() => 0);
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline || count < minRequests) {
        const index = next++ % targets.length;
        const target = targets[index];
        const start = performance.now();
        const res = await request(target.url, { headers: target.headers });
        times[index].push(performance.now() - start);
        count++;
        if (res.status !== expectStatus) bad[index]++;
        if (count > 200_000) break;
      }
    }),
  );
  const stats = (list, non2xx) => {
    const sorted = [...list].sort((a, b) => a - b);
    return {
      requests: sorted.length,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
      max: sorted.at(-1),
      non2xx,
    };
  };
  return {
    all: stats(
      times.flat(),
      bad.reduce((a, b) => a + b, 0),
    ),
    each: times.map((list, i) => stats(list, bad[i])),
  };
}

/**
 * An open-loop load at a fixed rate, evenly spaced: request i is due at start + i / rate, whatever the answers
 * before it (autocannon's `overallRate` sends each connection's quota for the second in one burst at the start
 * of the second, and corrects its histogram for coordinated omission with a 1 ms expected interval, which
 * turns one slow answer into dozens of made-up ones). Latency runs from the time a request was due to its
 * last byte, with microsecond resolution, so a request held back because all `connections` were busy, or
 * because this process was late, counts its wait. Never more than `connections` sockets.
 */
export async function paced({ url, headers = {}, rate, duration, connections = 10, pid }) {
  const pacedAgent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const cpuBefore = pid ? cpuSecondsOf(pid) : 0;
  const total = Math.round(rate * duration);
  const times = [];
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let maxLateMs = 0;
  const inFlight = new Set();
  const start = performance.now();
  const send = (due) => {
    const done = new Promise((resolve) => {
      const req = http.request(url, { headers, agent: pacedAgent }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          times.push(performance.now() - due);
          if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
          resolve();
        });
        res.on('error', () => (errors++, resolve()));
      });
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => (errors++, resolve()));
      req.end();
    });
    inFlight.add(done);
    done.then(() => inFlight.delete(done));
  };
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / rate <= now) {
        const due = start + (sent * 1000) / rate;
        maxLateMs = Math.max(maxLateMs, now - due);
        send(due);
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / rate - performance.now()));
      else resolve();
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  pacedAgent.destroy();
  const sorted = times.sort((a, b) => a - b);
  return {
    ...(pid && sorted.length ? { cpuMsPerRequest: ((cpuSecondsOf(pid) - cpuBefore) * 1000) / sorted.length } : {}),
    rps: sorted.length / elapsed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
    max: sorted.at(-1),
    requests: sorted.length,
    non2xx,
    errors,
    maxLateMs,
  };
}

// ---- where it ran ----

export async function machine(adminUrl = ADMIN_URL) {
  const db = await connect(adminUrl);
  let postgres;
  let settings = {};
  try {
    postgres = (await db.query('SHOW server_version')).rows[0].server_version;
    for (const name of ['shared_buffers', 'work_mem', 'max_connections', 'jit']) {
      settings[name] = (await db.query(`SHOW ${name}`)).rows[0][name];
    }
  } finally {
    await db.end();
  }
  let redis;
  try {
    redis = /redis_version:(\S+)/.exec(
      execFileSync('redis-cli', ['-h', '127.0.0.1', 'info', 'server'], { encoding: 'utf8' }),
    )?.[1];
  } catch {
    redis = undefined;
  }
  return {
    cpu: cpus()[0]?.model?.trim(),
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres,
    postgresSettings: settings,
    redis,
    loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))),
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSecondsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function fileSize(path) {
  return existsSync(path) ? statSync(path).size : 0;
}
