// Auditing: the same trivial mutation with and without @Audited through the API (hash-chained insert into
// the 10M-row partitioned audit_logs), one day's first page out of the whole table (HTTP and SQL), and the
// insert rate partitioned vs unpartitioned from bench/audit.bench.mjs (spawned; it builds both tables).
import { performance } from 'node:perf_hooks';
import { connect, percentile, probe } from '../harness.mjs';
import { auditDays } from '../queries.mjs';

export async function auditScenario(ctx) {
  const { api, cfg, member, owner, dataset } = ctx;
  const rows = [];

  // 1. The request-path cost of auditing. The target row: a real mutation (one INSERT in a transaction, as
  // services write) with and without its audit entry in the same transaction — the path of every route that
  // records in its service. Then two informational rows: the same write audited by @Audited's interceptor (a
  // transaction of its own after the change commits: a second WAL flush), and the old worst case, a
  // "mutation" that writes nothing, where the audit insert is all the database work there is.
  const mutation = (path) => ({ url: `${api.url}/api/v1/bench/${path}`, method: 'POST', headers: member });
  const { a: plainWrite, b: auditedWrite } = await ctx.compare(mutation('write'), mutation('write-audited'));
  const auditRow = ctx.row({
    id: 'audit-request-cost',
    group: 'Audit',
    scenario:
      'POST /bench/write-audited vs /bench/write: one-row INSERT in a transaction, with vs without its audit entry in the same transaction (req/s, 10 connections, one organization)',
    app: auditedWrite,
    baseline: plainWrite,
    baselineLabel: 'not audited',
    ratio: auditedWrite.rps / plainWrite.rps,
    target: '≥ 0.9×',
    pass: auditedWrite.rps / plainWrite.rps >= 0.9,
  });
  rows.push(auditRow);
  const { a: plainAgain, b: intercepted } = await ctx.compare(mutation('write'), mutation('write-intercepted'));
  rows.push(
    ctx.row({
      id: 'audit-request-cost-interceptor',
      group: 'Audit',
      scenario:
        'POST /bench/write-intercepted (the same write under @Audited: the entry in a second transaction after the commit) vs /bench/write',
      app: intercepted,
      baseline: plainAgain,
      baselineLabel: 'not audited',
      ratio: intercepted.rps / plainAgain.rps,
      target: '≥ 0.9×',
      pass: intercepted.rps / plainAgain.rps >= 0.9,
      informational: true,
    }),
  );
  const { a: plain, b: audited } = await ctx.compare(mutation('mutate'), mutation('mutate-audited'));
  rows.push(
    ctx.row({
      id: 'audit-request-cost-noop',
      group: 'Audit',
      scenario:
        'POST /bench/mutate-audited vs /bench/mutate: a handler that writes nothing, with vs without @Audited (worst case: the audit insert is the only database work)',
      app: audited,
      baseline: plain,
      baselineLabel: 'not audited',
      ratio: audited.rps / plain.rps,
      target: '≥ 0.9×',
      pass: audited.rps / plain.rps >= 0.9,
      informational: true,
    }),
  );
  if (!auditRow.pass) {
    await ctx.profile('audit-mutation', 'POST /bench/write-audited under load', () =>
      ctx.load(mutation('write-audited')),
    );
  }

  // 2. One organization's day, first page, over days spread across the year (different partitions).
  const days = auditDays(dataset.state, 20);
  const targets = days.map((day) => ({
    url: `${api.url}/api/v1/audit-logs?limit=20&from=${encodeURIComponent(day.from)}&to=${encodeURIComponent(day.to)}`,
    headers: owner,
  }));
  await probe({ targets, seconds: cfg.warmup, concurrency: 1 });
  const http = await probe({ targets, seconds: cfg.probeSeconds * cfg.rounds, concurrency: 1, minRequests: 100 });
  rows.push(
    ctx.row({
      id: 'audit-day-http',
      group: 'Audit',
      scenario: `GET /audit-logs?from=<day>&to=<day+1>&limit=20 (owner; 20 days across ${dataset.sizes.auditRows.toLocaleString('en')} rows), p99, 1 connection`,
      app: http,
      value: http.p99,
      unit: 'ms',
      target: '≤ 10 ms',
      pass: http.p99 <= 10,
    }),
  );

  // The same first page in SQL alone (the statement the API ran, with each day's bounds).
  const query = ctx.queries['audit-day'];
  const [captured] = auditDays(dataset.state, 1);
  const db = await connect(dataset.url);
  const times = [];
  try {
    for (let i = 0; i < 20 * cfg.rounds * 5; i++) {
      const day = days[i % days.length];
      const values = query.values.map((value) =>
        value === captured.from ? day.from : value === captured.to ? day.to : value,
      );
      const started = performance.now();
      const { rowCount } = await db.query(query.text, values);
      times.push(performance.now() - started);
      if (rowCount !== 21) throw new Error(`audit day ${day.from}: ${rowCount} rows`);
    }
  } finally {
    await db.end();
  }
  times.sort((a, b) => a - b);
  const sql = { p50: percentile(times, 50), p99: percentile(times, 99), requests: times.length };
  rows.push(
    ctx.row({
      id: 'audit-day-sql',
      group: 'Audit',
      scenario: 'The same first page, SQL only (the statement the API ran), p99',
      app: sql,
      value: sql.p99,
      unit: 'ms',
      target: '≤ 10 ms',
      pass: sql.p99 <= 10,
    }),
  );
  return rows;
}

/** bench/audit.bench.mjs in its own database: inserts partitioned vs unpartitioned (and its request-path ratio). */
export async function auditInsertScenario(ctx) {
  const result = await ctx.spawnBench('audit', 'bench/audit.bench.mjs', {
    BENCH_AUDIT_ROWS: ctx.mode === 'quick' ? '20000' : '200000',
    BENCH_DURATION: String(ctx.mode === 'quick' ? 2 : 6),
  });
  const { insert, ratios, requestPath } = result;
  const { floor } = requestPath;
  return [
    ctx.row({
      id: 'audit-insert-partitioned',
      group: 'Audit',
      scenario: `Audit insert rate, partitioned audit_logs vs unpartitioned twin (${insert.writers} writers, ${insert.batch}-row INSERTs; bench/audit.bench.mjs)`,
      app: { rps: insert.rowsPerSec.partitioned },
      baseline: { rps: insert.rowsPerSec.unpartitioned },
      appLabel: 'partitioned rows/s',
      baselineLabel: 'unpartitioned rows/s',
      ratio: ratios.insertPartitionedVsUnpartitioned,
      target: '≥ 0.95×',
      pass: ratios.insertPartitionedVsUnpartitioned >= 0.95,
    }),
    ctx.row({
      id: 'audit-request-cost-audit-bench',
      group: 'Audit',
      scenario:
        'Cross-check: audited vs plain mutation as bench/audit.bench.mjs measures it (ts-node API, empty database)',
      app: requestPath.audited,
      baseline: requestPath.plain,
      baselineLabel: 'not audited',
      ratio: requestPath.ratio,
      target: '≥ 0.9×',
      pass: requestPath.ratio >= 0.9,
      informational: true,
    }),
    // The limit of the audited-write row in SQL alone: the same statements from 10 bare pg clients.
    ctx.row({
      id: 'audit-request-cost-sql-floor',
      group: 'Audit',
      scenario:
        'Floor of the audited write, SQL only: 10 bare pg clients, START/SET ISOLATION/INSERT/COMMIT with vs without the audit statement (named prepared); bench/audit.bench.mjs',
      app: { rps: floor.prepared.tps },
      baseline: { rps: floor.plain.tps },
      appLabel: 'with entry tx/s',
      baselineLabel: 'without tx/s',
      ratio: floor.ratios.preparedVsPlain,
      target: '≥ 0.9×',
      pass: floor.ratios.preparedVsPlain >= 0.9,
      informational: true,
      note:
        `server CPU/tx ${floor.plain.serverCpuMsPerTx} → ${floor.prepared.serverCpuMsPerTx} ms (unnamed statement ` +
        `${floor.unnamed.serverCpuMsPerTx} ms, ratio ${floor.ratios.unnamedVsPlain.toFixed(2)}×); a SELECT 1 instead: ` +
        `${floor.ratios.roundTripVsPlain.toFixed(2)}×`,
    }),
  ];
}
