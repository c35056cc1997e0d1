// Load test (issue #10): the API and a worker as real processes from built JavaScript (`nest build` into
// var/bench-dist, as bench/run.mjs) on a throwaway database, a few organizations with data, then a mixed
// read/write workload (list/get/create customers, list/update posts, an occasional login) from
// LOAD_CONNECTIONS (default 200) connections for LOAD_SECONDS (default 60), loopback only.
// Reports errors other than 429 (any makes the exit code 1), p50/p99 latency, req/s, the API's RSS sampled
// every second, and its heap after a forced full GC every LOAD_GC_EVERY_SECONDS (10): each series with its
// linear-regression slope after the warm-up (MB/min). RSS also moves with V8's heap sizing and the
// allocator, so the leak signal is the heap after GC; both are flagged above their limits. Process warnings
// of the API (Node deprecations, e.g. pg's "client is already executing a query") are counted from its
// stderr and fail the run. Writes bench/results/load-<date>.json; the API's logs go to var/bench-logs/.
//   npm run load            LOAD_SECONDS=15 npm run load
//   LOAD_HEAP_SNAPSHOTS=1   also writes a heap snapshot (after GC) at the end of the warm-up and at the end,
//                           under var/load-snapshots/ (compare with bench/heap-summary.mjs); writing one
//                           takes native memory that the allocator keeps, so RSS of such a run says nothing
//   LOAD_NODE_ARGS='…'      the API's node flags instead of start:api's, e.g. '--trace-deprecation --max-semi-space-size=16'
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUILD_DIR, LOG_DIR, PRELOAD, apiNodeFlags, build, log, stop } from './harness.mjs';
import { ROOT, benchEnv, withDatabase, writeResult } from './lib.mjs';
import { countWarnings, linearSlope, pickWeighted, summarizeStatuses } from './load-stats.mjs';

const require = createRequire(import.meta.url);
const { Client } = require('pg');

const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 200);
const ORGANIZATIONS = Number(process.env.LOAD_ORGANIZATIONS ?? 4);
const CUSTOMERS_PER_ORG = Number(process.env.LOAD_CUSTOMERS ?? 2000);
const POSTS_PER_ORG = Number(process.env.LOAD_POSTS ?? 100);
/** RSS growth above this (MB/min, after the warm-up) is flagged. */
const RSS_GROWTH_LIMIT = Number(process.env.LOAD_RSS_GROWTH_LIMIT_MB_PER_MIN ?? 10);
/** Growth of the heap after a full GC above this (MB/min, after the warm-up) is flagged: live objects piling up. */
const HEAP_GROWTH_LIMIT = Number(process.env.LOAD_HEAP_GROWTH_LIMIT_MB_PER_MIN ?? 1);
/** A forced full GC costs a pause of some tens of ms: every 10 s is well under 1% of the run. */
const GC_EVERY_SECONDS = Number(process.env.LOAD_GC_EVERY_SECONDS ?? 10);
const HEAP_SNAPSHOTS = process.env.LOAD_HEAP_SNAPSHOTS === '1';
/** The API's node flags: those of `npm run start:api` unless LOAD_NODE_ARGS says otherwise. */
const API_NODE_ARGS = (process.env.LOAD_NODE_ARGS ?? apiNodeFlags().join(' ')).split(/\s+/).filter(Boolean);
/** The first part of a run grows the heap to its working size (JIT, caches, pools): not counted as growth. */
const WARM_UP_SECONDS = Math.min(20, SECONDS / 2);
/** A shorter window after the warm-up says too little about growth to flag it. */
const MIN_GROWTH_WINDOW_SECONDS = 30;
const LOG_LEVEL = process.env.LOAD_LOG_LEVEL ?? 'info';
const PASSWORD = 'plausible-Horse-battery-42';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The workload: weight (share of requests) and how one request of each kind is built. */
const OPERATIONS = [
  { name: 'list customers', weight: 30, build: (org) => ({ method: 'GET', path: '/api/v1/customers?limit=20', org }) },
  {
    name: 'get customer',
    weight: 28,
    build: (org) => ({ method: 'GET', path: `/api/v1/customers/${pick(org.customerIds)}`, org }),
  },
  { name: 'list posts', weight: 16, build: (org) => ({ method: 'GET', path: '/api/v1/posts?limit=20', org }) },
  {
    name: 'create customer',
    weight: 12,
    build: (org) => {
      const id = randomUUID();
      return {
        method: 'POST',
        path: '/api/v1/customers',
        body: { name: `Load ${id.slice(0, 8)}`, email: `load-${id}@load.test`, tags: ['load'] },
        org,
      };
    },
  },
  {
    name: 'update post',
    weight: 13,
    build: (org) => ({
      method: 'PATCH',
      path: `/api/v1/posts/${pick(org.postIds)}`,
      body: { excerpt: `Edited ${Date.now()}` },
      org,
    }),
  },
  {
    name: 'login',
    weight: 1,
    build: (org) => ({ method: 'POST', path: '/api/v1/auth/login', body: { email: org.email, password: PASSWORD } }),
  },
];

function pick(values) {
  return values[Math.floor(Math.random() * values.length)];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A built entry (var/bench-dist) as a real process with bench/preload.js (memory readings over IPC). Its
 * stdout and stderr go straight to a file, not through this process, which is busy generating the load.
 */
function startProcess(name, entry, env, nodeArgs = []) {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `load-${name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, '-r', PRELOAD, join(BUILD_DIR, entry)], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  let seq = 0;
  const pending = new Map();
  child.on('message', (message) => {
    const waiter = pending.get(message?.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message);
    else waiter.reject(new Error(`${name}: ${message.error}`));
  });
  child.on('exit', () => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${name} exited`));
    pending.clear();
  });
  /** One request to bench/preload.js in the child. */
  child.call = (cmd, payload = {}) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, ...payload });
    });
  child.logFile = logFile;
  return child;
}

async function waitUntilLive(url, child) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode} before it listened`);
    const live = await fetch(`${url}/health/live`).catch(() => undefined);
    if (live?.ok) return;
    await sleep(250);
  }
  throw new Error('the API did not listen within 2 minutes');
}

/** Resident set size of a process in MB (Linux /proc). */
function rssMb(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const MB = 1024 * 1024;

async function api(url, method, path, { token, body } = {}) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** An organization with its owner, CUSTOMERS_PER_ORG customers (SQL) and POSTS_PER_ORG posts (API). */
async function seedOrganization(url, db, index) {
  const email = `load-owner-${index}-${randomUUID().slice(0, 6)}@load.test`;
  const { accessToken } = await api(url, 'POST', '/api/v1/auth/register', {
    body: { organizationName: `Load Org ${index}`, name: `Load Owner ${index}`, email, password: PASSWORD },
  });
  const me = await api(url, 'GET', '/api/v1/auth/me', { token: accessToken });
  const { rows } = await db.query(
    `INSERT INTO customers (id, organization_id, name, email, status, tags, created_at, updated_at)
     SELECT gen_random_uuid(), $1, 'Seeded customer ' || g, 'seeded-' || g || '-' || $3 || '@load.test',
            (ARRAY['lead', 'prospect', 'active', 'churned'])[1 + g % 4], ARRAY['seed'],
            now() - make_interval(secs => g), now() - make_interval(secs => g)
       FROM generate_series(1, $2) AS g
     RETURNING id`,
    [me.organizationId, CUSTOMERS_PER_ORG, index],
  );
  const postIds = [];
  for (let i = 0; i < POSTS_PER_ORG; i++) {
    const post = await api(url, 'POST', '/api/v1/posts', {
      token: accessToken,
      body: { title: `Load post ${index}-${i}`, body: `Body of load post ${i}. `.repeat(10), tags: ['load'] },
    });
    postIds.push(post.id);
  }
  return { email, token: accessToken, customerIds: rows.map((row) => row.id), postIds };
}

const built = await build();
log(built.built ? `built var/bench-dist in ${Math.round(built.seconds)} s` : 'var/bench-dist is up to date');

// BENCH_DB_SUFFIX: checkouts running the load one after another on one machine keep their databases apart.
const DATABASE = `atrium_load${(process.env.BENCH_DB_SUFFIX ?? '').replace(/[^a-z0-9_]/g, '')}`;

await withDatabase(DATABASE, async (databaseUrl) => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  if (!LOOPBACK.has(new URL(url).hostname)) throw new Error(`refusing to load ${url}: loopback targets only`);
  const env = benchEnv(databaseUrl, {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL,
    LOG_FORMAT: 'json',
    // High but real limits: 429s are counted, not errors.
    RATE_LIMIT_MAX: '100000',
    RATE_LIMIT_AUTH_MAX: '100000',
    // Logins are part of the mix; cost 12 would make bcrypt alone saturate a small machine.
    BCRYPT_COST: process.env.LOAD_BCRYPT_COST ?? '10',
    JWT_ACCESS_TTL_SECONDS: String(Math.max(900, SECONDS + 600)),
  });
  const apiProcess = startProcess('api', 'src/main.js', env, ['--expose-gc', ...API_NODE_ARGS]);
  let worker;
  const db = new Client({ connectionString: databaseUrl });
  try {
    await waitUntilLive(url, apiProcess);
    worker = startProcess('worker', 'src/worker.js', { ...env, PORT: '0' });
    await db.connect();
    const organizations = [];
    for (let i = 0; i < ORGANIZATIONS; i++) organizations.push(await seedOrganization(url, db, i));
    console.log(
      `seeded ${ORGANIZATIONS} organizations × (${CUSTOMERS_PER_ORG} customers, ${POSTS_PER_ORG} posts); ` +
        `${CONNECTIONS} connections for ${SECONDS} s against ${url}`,
    );

    const byOperation = Object.fromEntries(OPERATIONS.map((op) => [op.name, {}]));
    const rss = [];
    const workerRss = [];
    /** process.memoryUsage() of the API right after a full GC: what is still alive. */
    const afterGc = [];
    const snapshots = [];
    const started = Date.now();
    const elapsed = () => (Date.now() - started) / 1000;
    const sampler = setInterval(() => {
      const t = elapsed();
      const apiMb = rssMb(apiProcess.pid);
      const workerMb = rssMb(worker.pid);
      if (apiMb !== undefined) rss.push({ t, mb: apiMb });
      if (workerMb !== undefined) workerRss.push({ t, mb: workerMb });
    }, 1000);
    const readAfterGc = async () => {
      const t = elapsed();
      const { memory, collected } = await apiProcess.call('memory', { gc: true });
      if (!collected) throw new Error('the API did not collect: is it running with --expose-gc?');
      afterGc.push({ t, ...memory });
    };
    const gcSampler = setInterval(
      () => readAfterGc().catch((error) => log(`memory reading: ${error.message}`)),
      GC_EVERY_SECONDS * 1000,
    );
    const snapshot = async (label) => {
      const dir = join(ROOT, 'var', 'load-snapshots');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${label}.heapsnapshot`);
      await apiProcess.call('heap-snapshot', { file });
      snapshots.push({ label, t: elapsed(), file });
    };
    const snapshotTimers = HEAP_SNAPSHOTS
      ? [
          setTimeout(
            () => void snapshot('warm').catch((error) => log(`snapshot: ${error.message}`)),
            WARM_UP_SECONDS * 1000,
          ),
          setTimeout(
            () => void snapshot('end').catch((error) => log(`snapshot: ${error.message}`)),
            (SECONDS - 8) * 1000,
          ),
        ]
      : [];

    const result = await autocannon({
      url,
      connections: CONNECTIONS,
      duration: SECONDS,
      timeout: 30,
      requests: [
        {
          setupRequest: (request, context) => {
            const operation = pickWeighted(OPERATIONS);
            const built = operation.build(pick(organizations));
            context.operation = operation.name;
            return {
              ...request,
              method: built.method,
              path: built.path,
              headers: {
                ...request.headers,
                'content-type': 'application/json',
                ...(built.org ? { authorization: `Bearer ${built.org.token}` } : {}),
              },
              body: built.body === undefined ? undefined : JSON.stringify(built.body),
            };
          },
          onResponse: (status, _body, context) => {
            const counts = byOperation[context.operation];
            counts[status] = (counts[status] ?? 0) + 1;
          },
        },
      ],
    });
    clearInterval(sampler);
    clearInterval(gcSampler);
    snapshotTimers.forEach(clearTimeout);
    await readAfterGc();
    // Stopped before reading its output: a shutdown that closes pools under running queries warns then.
    await Promise.all([stop(apiProcess), stop(worker)]);
    const warnings = countWarnings(readFileSync(apiProcess.logFile, 'utf8'));

    const statuses = summarizeStatuses(result.statusCodeStats);
    const nonRateLimitErrors = statuses.errorsExcept429 + result.errors + result.timeouts;
    const minutes = (samples) => samples.map(({ t, mb }) => ({ x: t / 60, y: mb }));
    const warm = rss.filter(({ t }) => t >= WARM_UP_SECONDS);
    const slope = linearSlope(minutes(rss));
    const slopeAfterWarmUp = linearSlope(minutes(warm));
    const conclusive = SECONDS - WARM_UP_SECONDS >= MIN_GROWTH_WINDOW_SECONDS;
    const summary = {
      seconds: SECONDS,
      connections: CONNECTIONS,
      organizations: ORGANIZATIONS,
      logLevel: LOG_LEVEL,
      requests: result.requests.total,
      reqPerSec: Math.round(result.requests.average),
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      statusCounts: statuses.counts,
      rateLimited: statuses.counts['429'] ?? 0,
      nonRateLimitErrors,
      socketErrors: result.errors,
      timeouts: result.timeouts,
      byOperation,
      apiRss: {
        samples: rss.length,
        startMb: round(rss[0]?.mb),
        endMb: round(rss.at(-1)?.mb),
        maxMb: round(Math.max(...rss.map(({ mb }) => mb))),
        slopeMbPerMin: round(slope),
        warmUpSeconds: WARM_UP_SECONDS,
        slopeAfterWarmUpMbPerMin: round(slopeAfterWarmUp),
        // Context for the flag: V8 grows its heap in steps, then holds; a leak keeps climbing to the end.
        slopeLastHalfMbPerMin: round(linearSlope(minutes(rss.filter(({ t }) => t >= SECONDS / 2)))),
        growthLimitMbPerMin: RSS_GROWTH_LIMIT,
        // true / false; null when the run is too short to tell (under warm-up + 30 s).
        growthFlagged: conclusive ? slopeAfterWarmUp > RSS_GROWTH_LIMIT : null,
        series: rss.map(({ t, mb }) => [round(t), round(mb)]),
      },
      apiHeapAfterGc: heapTrend(afterGc, conclusive),
      apiNodeArgs: API_NODE_ARGS,
      apiWarnings: warnings,
      heapSnapshots: snapshots,
      workerRss: { startMb: round(workerRss[0]?.mb), endMb: round(workerRss.at(-1)?.mb) },
    };
    const file = writeResult('load', summary);
    console.log(
      `${summary.requests} requests, ${summary.reqPerSec} req/s, p50 ${summary.latencyMs.p50} ms, p99 ` +
        `${summary.latencyMs.p99} ms; statuses ${JSON.stringify(summary.statusCounts)}; ` +
        `non-429 errors ${nonRateLimitErrors} (socket ${result.errors}, timeouts ${result.timeouts})`,
    );
    const verdict =
      summary.apiRss.growthFlagged === null
        ? `too short to judge growth (needs ${WARM_UP_SECONDS + MIN_GROWTH_WINDOW_SECONDS} s)`
        : summary.apiRss.growthFlagged
          ? `GROWTH FLAGGED (> ${RSS_GROWTH_LIMIT} MB/min)`
          : `no growth beyond ${RSS_GROWTH_LIMIT} MB/min`;
    console.log(
      `API RSS ${summary.apiRss.startMb} → ${summary.apiRss.endMb} MB (max ${summary.apiRss.maxMb}); slope ` +
        `${summary.apiRss.slopeMbPerMin} MB/min overall, ${summary.apiRss.slopeAfterWarmUpMbPerMin} MB/min after ` +
        `${WARM_UP_SECONDS} s of warm-up: ${verdict}`,
    );
    const heap = summary.apiHeapAfterGc;
    const heapVerdict =
      heap.growthFlagged === null
        ? 'too short to judge'
        : heap.growthFlagged
          ? `GROWTH FLAGGED (> ${HEAP_GROWTH_LIMIT} MB/min)`
          : `no growth beyond ${HEAP_GROWTH_LIMIT} MB/min`;
    console.log(
      `API heap after GC ${heap.startMb} → ${heap.endMb} MB over ${heap.samples} readings; slope ` +
        `${heap.slopeAfterWarmUpMbPerMin} MB/min after warm-up: ${heapVerdict} (external ${heap.externalEndMb} MB, ` +
        `arrayBuffers ${heap.arrayBuffersEndMb} MB at the end)`,
    );
    console.log(`API process warnings: ${warnings.total ? JSON.stringify(warnings.byMessage) : 'none'}`);
    for (const { label, file: snapshotFile } of snapshots) console.log(`heap snapshot (${label}): ${snapshotFile}`);
    console.log(`wrote ${file}`);
    if (nonRateLimitErrors > 0) {
      console.error(`FAILED: ${nonRateLimitErrors} responses were errors other than 429`);
      process.exitCode = 1;
    }
    if (warnings.total > 0) {
      console.error(`FAILED: the API emitted ${warnings.total} process warning(s); see ${apiProcess.logFile}`);
      process.exitCode = 1;
    }
  } finally {
    await db.end().catch(() => undefined);
    await Promise.all([stop(apiProcess), stop(worker)]);
  }
});

/** The heap-after-GC readings as a trend: the honest leak signal (RSS also follows V8's sizing). */
function heapTrend(readings, conclusive) {
  const series = (key) => readings.map((reading) => ({ x: reading.t / 60, y: reading[key] / MB }));
  const warm = readings.filter(({ t }) => t >= WARM_UP_SECONDS);
  const slope = linearSlope(warm.map((reading) => ({ x: reading.t / 60, y: reading.heapUsed / MB })));
  return {
    samples: readings.length,
    everySeconds: GC_EVERY_SECONDS,
    startMb: round(readings[0]?.heapUsed / MB),
    endMb: round(readings.at(-1)?.heapUsed / MB),
    slopeAfterWarmUpMbPerMin: round(slope),
    externalSlopeMbPerMin: round(linearSlope(series('external').filter(({ x }) => x * 60 >= WARM_UP_SECONDS))),
    externalEndMb: round(readings.at(-1)?.external / MB),
    arrayBuffersEndMb: round(readings.at(-1)?.arrayBuffers / MB),
    growthLimitMbPerMin: HEAP_GROWTH_LIMIT,
    // Needs at least three readings after the warm-up besides the conclusive run length.
    growthFlagged: conclusive && warm.length >= 3 ? slope > HEAP_GROWTH_LIMIT : null,
    series: readings.map(({ t, heapUsed, heapTotal, external, arrayBuffers, rss: resident }) => [
      round(t),
      round(heapUsed / MB),
      round(heapTotal / MB),
      round(external / MB),
      round(arrayBuffers / MB),
      round(resident / MB),
    ]),
    seriesColumns: ['t', 'heapUsedMb', 'heapTotalMb', 'externalMb', 'arrayBuffersMb', 'rssMb'],
  };
}

function round(value) {
  return value === undefined || !Number.isFinite(value) ? null : Math.round(value * 100) / 100;
}
