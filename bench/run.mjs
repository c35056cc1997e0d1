// The benchmark suite (issue #9): builds the app, prepares (or reuses) the bench database, starts the API and
// a worker from built JS, captures the hot queries and EXPLAINs them, runs every scenario against the app and
// its baseline in the same run, and writes bench/results/<date>.json plus its section of BENCHMARKS.md.
//   npm run bench                      full dataset (1M customers, 100k posts, 10M audit rows, 1,000 departments)
//   npm run bench:quick                small dataset and short runs (< 5 minutes once the dataset exists)
//   node bench/run.mjs [--quick] [--only=customers,auth,audit,audit-insert,media,posts] [--no-build | --rebuild]
//                      [--force-dataset] [--profile]
// Client and server share the machine: autocannon and latency probes run in this process; the API, the
// worker, baselines, PostgreSQL and Redis are processes of their own. Everything listens on 127.0.0.1; every
// child process is stopped at the end, and the whole run is bounded in time.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { apiEnvironment, ensureDataset } from './dataset.mjs';
import {
  BUILD_DIR,
  apiNodeFlags,
  LOG_DIR,
  PROFILE_DIR,
  ROOT,
  build,
  cannon,
  connect,
  log,
  machine,
  requestJson,
  spawnGroup,
  startNode,
  stop,
  stopAll,
} from './harness.mjs';
import { generatePlans } from './plans.mjs';
import { formatSummary, summarizeFile } from './profile-summary.mjs';
import { captureHotQueries } from './queries.mjs';
import { writeReport } from './report.mjs';
import { auditInsertScenario, auditScenario } from './scenarios/audit.mjs';
import { authScenario } from './scenarios/auth.mjs';
import { customersScenario } from './scenarios/customers.mjs';
import { mediaScenario } from './scenarios/media.mjs';
import { postsScenario } from './scenarios/posts.mjs';

const require = createRequire(import.meta.url);
const Redis = require('ioredis');

// profileMisses: a CPU profile of the API for every missed target (full runs; quick runs only profile what a
// target is measured with). apiWarmup: seconds of mixed load on a fresh API before anything is measured.
const CONFIG = {
  quick: {
    duration: 2,
    warmup: 1,
    rounds: 1,
    probeSeconds: 1.5,
    apiWarmup: 3,
    profileMisses: false,
    deadlineMinutes: 20,
  },
  full: {
    duration: 10,
    warmup: 3,
    rounds: 2,
    probeSeconds: 5,
    apiWarmup: 15,
    profileMisses: true,
    deadlineMinutes: 180,
  },
};

/** Scenario groups in the order they run; `api` ones use this run's API, the others spawn a bench script. */
const GROUPS = [
  { name: 'customers', api: true, run: customersScenario },
  { name: 'auth', api: true, run: authScenario },
  { name: 'audit', api: true, run: auditScenario },
  { name: 'audit-insert', api: false, run: auditInsertScenario },
  { name: 'media', api: false, run: mediaScenario },
  // Mostly waiting for its one-minute publishing window: a quick run lets the other spawned benches run meanwhile.
  { name: 'posts', api: false, run: postsScenario, alongsideInQuick: true },
];

function parseArgs(argv) {
  const only = argv
    .find((arg) => arg.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  return {
    mode: argv.includes('--quick') ? 'quick' : 'full',
    only,
    build: !argv.includes('--no-build'),
    forceDataset: argv.includes('--force-dataset'),
    profile: argv.includes('--profile'),
    rebuild: argv.includes('--rebuild'),
  };
}

/** Averages of several measurements of one target (rounds): means of req/s and of the percentiles. */
function merge(list) {
  const mean = (key) => {
    const values = list.map((m) => m[key]).filter((v) => typeof v === 'number' && !Number.isNaN(v));
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
  };
  const merged = {};
  for (const key of ['rps', 'p50', 'p90', 'p99', 'mean', 'max', 'cpuMsPerRequest']) {
    const value = mean(key);
    if (value !== undefined) merged[key] = value;
  }
  merged.requests = list.reduce((a, m) => a + (m.requests ?? 0), 0);
  merged.non2xx = list.reduce((a, m) => a + (m.non2xx ?? 0), 0);
  merged.errors = list.reduce((a, m) => a + (m.errors ?? 0), 0);
  return merged;
}

/**
 * An --only run updates the last complete run of its mode instead of replacing it: its groups' rows,
 * profiles (and plans, when the API ran) take the place of the old ones, marked with the time they were taken.
 */
function mergeIntoLast(partial, groups) {
  const dir = join(ROOT, 'bench', 'results');
  const pattern = partial.mode === 'quick' ? /^\d{4}-\d{2}-\d{2}\.quick\.json$/ : /^\d{4}-\d{2}-\d{2}\.json$/;
  const last = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => pattern.test(f))
        .sort()
        .at(-1)
    : undefined;
  if (!last) return partial;
  const base = JSON.parse(readFileSync(join(dir, last), 'utf8'));
  // Results written before rows named their group: derive it from the row id.
  const groupOf = (id) =>
    id.startsWith('audit-insert') || id === 'audit-request-cost-audit-bench'
      ? 'audit-insert'
      : /^(trivial|guard|login|validation)-/.test(id)
        ? 'auth'
        : id.split('-')[0];
  for (const row of base.rows) row.scenarioGroup ??= groupOf(row.id);
  const names = new Set(groups.map((g) => g.name));
  const at = partial.date.slice(0, 16).replace('T', ' ');
  const rerun = partial.rows.map((row) => ({
    ...row,
    note: `${row.note ? `${row.note}; ` : ''}re-measured ${at} UTC`,
  }));
  const rows = base.rows.flatMap((row) => {
    if (!names.has(row.scenarioGroup)) return [row];
    const first = base.rows.find((r) => r.scenarioGroup === row.scenarioGroup) === row;
    return first ? rerun.filter((r) => r.scenarioGroup === row.scenarioGroup) : [];
  });
  for (const row of rerun) if (!rows.includes(row)) rows.push(row);
  const profiles = base.profiles
    .filter((p) => !partial.profiles.some((q) => q.name === p.name))
    .concat(partial.profiles);
  return {
    ...base,
    rows,
    profiles,
    plans: partial.plans.length ? partial.plans : base.plans,
    errors: [...base.errors.filter((e) => !names.has(e.group)), ...partial.errors],
    reruns: [...(base.reruns ?? []), { date: partial.date, groups: [...names], seconds: partial.seconds }],
  };
}

function normalize(measurement) {
  if (!measurement) return undefined;
  const { reqPerSec, ...rest } = measurement;
  return reqPerSec !== undefined && rest.rps === undefined ? { rps: reqPerSec, ...rest } : rest;
}

async function login(api, email, password) {
  const res = await requestJson(`${api.url}/api/v1/auth/login`, { method: 'POST', json: { email, password } });
  if (res.status !== 200 || !res.body?.accessToken)
    throw new Error(`login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.accessToken;
}

/** Deletes this run's Redis keys (sessions, grants, rate-limit buckets, queues), bounded. */
async function cleanRedis(prefix) {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    const deadline = Date.now() + 30_000;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0' && Date.now() < deadline);
  } catch (error) {
    log(`redis cleanup: ${error.message}`);
  } finally {
    redis.disconnect();
  }
}

export async function main(argv = process.argv.slice(2)) {
  const args = parseArgs(argv);
  const cfg = CONFIG[args.mode];
  const started = performance.now();
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${args.mode}`;
  const redisPrefix = `atrium-bench-${args.mode}-${randomBytes(3).toString('hex')}:`;
  const profileDir = join(PROFILE_DIR, runId);
  const spawnedResultsDir = join(ROOT, 'var', 'bench-results', runId);
  mkdirSync(profileDir, { recursive: true });
  const result = {
    date: new Date().toISOString(),
    mode: args.mode,
    machine: await machine(),
    config: cfg,
    timings: {},
    rows: [],
    plans: [],
    profiles: [],
    errors: [],
  };
  const groups = GROUPS.filter((group) => !args.only || args.only.includes(group.name));
  log(`${args.mode} run ${runId}: ${groups.map((g) => g.name).join(', ')}`);

  const deadline = setTimeout(() => {
    console.error(`bench: over ${cfg.deadlineMinutes} minutes, stopping every process`);
    void stopAll().finally(() => process.exit(1));
  }, cfg.deadlineMinutes * 60_000);
  deadline.unref();
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => void stopAll().finally(() => process.exit(130)));
  }

  let redis;
  const rowsOf = new Map();
  /** One scenario group; a failure is recorded and the run goes on. */
  const runGroup = async (group, ctx) => {
    const t = performance.now();
    log(`scenario ${group.name}`);
    try {
      rowsOf.set(
        group.name,
        (await group.run(ctx)).map((row) => ({ ...row, scenarioGroup: group.name })),
      );
    } catch (error) {
      log(`scenario ${group.name} failed: ${error.stack ?? error}`);
      result.errors.push({ group: group.name, error: String(error.stack ?? error) });
    }
    result.timings[group.name] = (performance.now() - t) / 1000;
  };
  try {
    // The server's CPU per request is measured alongside req/s: it does not depend on what else runs.
    const pids = new Map();
    const withPid = (target) => ({ pid: pids.get(new URL(target.url).origin), ...target });
    let env;
    const ctx = {
      mode: args.mode,
      cfg,
      measured: {},
      merge,
      row(row) {
        const full = { ...row, app: normalize(row.app), baseline: normalize(row.baseline) };
        for (const m of [full.app, full.baseline]) {
          if (m && (m.non2xx > 0 || m.errors > 0)) {
            full.pass = false;
            full.note = `${full.note ? `${full.note}; ` : ''}INVALID: ${m.non2xx} non-2xx, ${m.errors} errors`;
          }
        }
        ctx.measured[row.id] = full;
        log(
          `  ${full.pass ? 'pass' : full.informational ? 'info' : 'MISS'} ${row.id}: ${full.ratio !== undefined ? `${full.ratio.toFixed(3)}×` : `${full.value?.toFixed?.(3)} ${full.unit ?? ''}`} (target ${row.target})`,
        );
        return full;
      },
      /** One autocannon run after a warm-up. */
      async load(target) {
        if (cfg.warmup) await cannon({ ...target, duration: cfg.warmup });
        return cannon({ duration: cfg.duration, ...withPid(target) });
      },
      /**
       * Two targets measured in alternating rounds (A B, B A, …) after warming both; averaged per target.
       * `rounds` defaults to the mode's.
       */
      async compare(a, b, { rounds = cfg.rounds } = {}) {
        await cannon({ ...a, duration: cfg.warmup });
        await cannon({ ...b, duration: cfg.warmup });
        const runs = { a: [], b: [] };
        for (let round = 0; round < rounds; round++) {
          const order = round % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
          for (const key of order)
            runs[key].push(await cannon({ duration: cfg.duration, ...withPid(key === 'a' ? a : b) }));
        }
        return { a: merge(runs.a), b: merge(runs.b) };
      },
      async startBaseline(name, entry, extraEnv) {
        const baseline = await startNode(name, entry, {
          env: { DATABASE_URL: ctx.dataset.url, DB_POOL_SIZE: env.DB_POOL_SIZE, ...extraEnv },
          timeoutMs: 60_000,
        });
        pids.set(baseline.url, baseline.pid);
        return baseline;
      },
      /**
       * A second API process from this run's build (another entry of bench/tsconfig.build.json), with the
       * API's environment and node flags; its CPU per request is measured like the API's.
       */
      async startApiTwin(name, entry) {
        const twin = await startNode(name, join(BUILD_DIR.slice(ROOT.length), entry), {
          env,
          nodeArgs: apiNodeFlags(),
          timeoutMs: 180_000,
        });
        pids.set(twin.url, twin.pid);
        return twin;
      },
      /**
       * A CPU profile of the API while `loadFn()` runs; its summary goes into the report. Profiles of missed
       * targets (`miss`) are taken in full runs (or with --profile) only.
       */
      async profile(name, description, loadFn, { miss = true } = {}) {
        if (miss && !ctx.profileMisses) return undefined;
        const file = join(profileDir, `${name}.cpuprofile`);
        await ctx.api.call('profile-start', { intervalUs: 500 });
        try {
          await loadFn();
        } finally {
          await ctx.api.call('profile-stop', { file });
        }
        return ctx.addProfile(name, description, file);
      },
      /** Whether missed targets get a profile (full runs, or --profile). */
      profileMisses: cfg.profileMisses || args.profile,
      /** A directory for profiles that spawned benches write. */
      profileDir,
      /** Summarizes a .cpuprofile into the report. */
      addProfile(name, description, file) {
        const summary = summarizeFile(file, { top: 15 });
        result.profiles.push({
          name,
          description,
          file: file.slice(ROOT.length),
          text: formatSummary(summary, { top: 12 }),
          packages: summary.packages,
          functions: summary.functions,
        });
        log(`  profile ${name}: ${file.slice(ROOT.length)}`);
        return summary;
      },
      /** Runs an existing bench script (in its own process group) to completion; returns the result it wrote. */
      async spawnBench(name, script, extraEnv, { run = name } = {}) {
        const dir = join(spawnedResultsDir, run);
        mkdirSync(dir, { recursive: true });
        const logFile = join(LOG_DIR, `${runId}-${run}.log`);
        const code = await new Promise((resolve, reject) => {
          const child = spawnGroup(process.execPath, [join(ROOT, script)], {
            cwd: ROOT,
            env: {
              ...process.env,
              NODE_OPTIONS: '',
              BENCH_RESULTS_DIR: dir,
              // The spawned benches start the API from this run's build, as the suite's own API runs.
              BENCH_BUILD_DIR: BUILD_DIR,
              BENCH_REDIS_KEY_PREFIX: `${redisPrefix}${run}-${randomBytes(3).toString('hex')}:`,
              ...extraEnv,
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          const out = [];
          child.stdout.on('data', (chunk) => out.push(chunk));
          child.stderr.on('data', (chunk) => out.push(chunk));
          const timer = setTimeout(() => void stop(child), (args.mode === 'quick' ? 6 : 45) * 60_000);
          child.on('error', reject);
          child.on('exit', (exitCode, signal) => {
            clearTimeout(timer);
            writeFileSync(logFile, Buffer.concat(out));
            void stop(child); // anything it left running in its process group
            resolve(signal ?? exitCode);
          });
        });
        const files = existsSync(dir)
          ? readdirSync(dir).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.json'))
          : [];
        if (!files.length)
          throw new Error(`${script} wrote no result (exit ${code}); see ${logFile.slice(ROOT.length)}`);
        if (code !== 0)
          log(`  ${script} exited with ${code} after writing its result; see ${logFile.slice(ROOT.length)}`);
        return JSON.parse(readFileSync(join(dir, files[0]), 'utf8'));
      },
    };

    // Order. Full: build, dataset, this run's API (every API scenario), then the spawned benches one by one.
    // Quick (bounded to 5 minutes): the posts bench, which mostly waits for its one-minute publishing
    // window, runs in the background once the build is there (it starts the API and workers from it), while
    // the other spawned benches, the start of this run's API and the query plans run; the API scenarios wait
    // for it, so they have the machine.
    const spawnedGroups = groups.filter((g) => !g.api);
    const apiGroups = groups.filter((g) => g.api);
    const background = args.mode === 'quick' ? spawnedGroups.filter((g) => g.alongsideInQuick) : [];
    const foreground = spawnedGroups.filter((g) => !background.includes(g));

    // 1. Build.
    if (args.build) {
      log('build: nest build → var/bench-dist');
      const built = await build({ force: args.rebuild });
      result.timings.build = built.seconds;
      log(
        built.built
          ? `build: done in ${Math.round(built.seconds)} s`
          : 'build: sources unchanged since the last build, skipped',
      );
    } else if (!existsSync(join(BUILD_DIR, 'src/main.js'))) {
      throw new Error('--no-build, but var/bench-dist has no build');
    }
    const backgroundDone = Promise.all(background.map((group) => runGroup(group, ctx)));
    if (args.mode === 'quick') {
      for (const group of foreground) await runGroup(group, ctx);
    }

    // 2. Dataset.
    if (apiGroups.length) {
      const t = performance.now();
      const dataset = await ensureDataset({
        mode: args.mode,
        force: args.forceDataset,
        redisPrefix,
      });
      result.timings.dataset = (performance.now() - t) / 1000;
      result.dataset = {
        sizes: dataset.sizes,
        reused: dataset.reused,
        seconds: dataset.seconds,
        generatedAt: dataset.state.generatedAt,
      };
      ctx.dataset = dataset;
      env = apiEnvironment({ redisPrefix, databaseUrl: dataset.url });

      // 3. API and worker, from built JS.
      const [api, worker] = await Promise.all([
        startNode('api', join(BUILD_DIR.slice(ROOT.length), 'bench/fixtures/bench-api.main.js'), {
          env,
          nodeArgs: apiNodeFlags(),
          timeoutMs: 180_000,
        }),
        startNode('worker', join(BUILD_DIR.slice(ROOT.length), 'src/worker.js'), {
          env: { ...env, LOG_LEVEL: 'info' },
          ready: 'worker started',
          timeoutMs: 180_000,
        }),
      ]);
      api.env = env;
      pids.set(api.url, api.pid);
      ctx.api = api;
      log(`api ${api.url} (pid ${api.pid}), worker pid ${worker.pid}`);
      try {
        const tokens = {
          owner: await login(api, dataset.state.owner.email, dataset.state.owner.password),
          member: await login(api, dataset.state.member.email, dataset.state.member.password),
        };
        ctx.member = { authorization: `Bearer ${tokens.member}` };
        ctx.owner = { authorization: `Bearer ${tokens.owner}` };

        // 4. The hot queries as the API sends them, their plans, and what the scenarios derive from them.
        redis = new Redis({ host: '127.0.0.1', port: 6379 });
        const captured = await captureHotQueries({ api, dataset, tokens, mode: args.mode, redis });
        ctx.queries = captured.queries;
        ctx.deepCursors = captured.deepCursors;
        writeFileSync(
          join(ROOT, 'var', `bench-queries-${args.mode}.json`),
          `${JSON.stringify({ databaseUrl: dataset.url, dataset: { sizes: dataset.sizes }, queries: captured.queries }, null, 2)}\n`,
        );
        const db = await connect(dataset.url);
        try {
          ctx.searchMatches = {};
          for (const name of ['selective', 'broad']) {
            const q = captured.queries[`customers-search-${name}`];
            const sql = q.text
              .replace(/ ORDER BY .*$/, '')
              .replace(/^SELECT .*? FROM "customers"/, 'SELECT count(*)::int AS n FROM "customers"');
            ctx.searchMatches[name] = (await db.query(sql, q.values)).rows[0].n.toLocaleString('en');
          }
        } finally {
          await db.end();
        }
        const t2 = performance.now();
        result.plans = await generatePlans({
          databaseUrl: dataset.url,
          queries: captured.queries,
          mode: args.mode,
          dataset,
        });
        result.timings.plans = (performance.now() - t2) / 1000;

        // 5. Scenarios against this API, once the machine is ours (quick: the background bench is done) and
        // the API's code is warm (JIT, pools, caches).
        if (background.length) {
          log(`waiting for ${background.map((g) => g.name).join(', ')} to finish`);
          await backgroundDone;
        }
        const warmupTargets = [
          { url: `${api.url}/api/v1/customers?limit=20`, headers: ctx.member },
          { url: `${api.url}/api/v1/bench/permitted`, headers: ctx.member },
          { url: `${api.url}/api/v1/bench/mutate`, method: 'POST', headers: ctx.member },
        ];
        for (const target of warmupTargets)
          await cannon({ ...target, duration: Math.ceil(cfg.apiWarmup / warmupTargets.length) });
        for (const group of apiGroups) await runGroup(group, ctx);
      } finally {
        await Promise.all([api.stop(), worker.stop()]);
      }
    }

    // 6. Full runs: the benches that bring their own processes, after ours are gone.
    if (args.mode !== 'quick') {
      for (const group of foreground) await runGroup(group, ctx);
    }
    await backgroundDone;
    for (const group of groups) result.rows.push(...(rowsOf.get(group.name) ?? []));

    result.seconds = (performance.now() - started) / 1000;
    result.loadAverageAtEnd = loadavg().map((value) => Number(value.toFixed(2)));
    const written = await writeReport(args.only ? mergeIntoLast(result, groups) : result);
    const passed = result.rows.filter((r) => !r.informational && r.pass).length;
    const total = result.rows.filter((r) => !r.informational).length;
    log(`${passed} of ${total} targets met; ${result.errors.length} scenario group(s) failed to run`);
    log(`wrote ${written.file.slice(ROOT.length)} and BENCHMARKS.md in ${Math.round(result.seconds)} s`);
    console.table(
      result.rows.map((r) => ({
        id: r.id,
        result:
          r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : `${Number(r.value?.toPrecision?.(3))} ${r.unit ?? ''}`,
        target: r.target,
        pass: r.informational ? 'info' : r.pass ? 'pass' : 'MISS',
      })),
    );
    return result;
  } finally {
    clearTimeout(deadline);
    redis?.disconnect();
    await stopAll();
    await cleanRedis(redisPrefix);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
