// Auditing: a real mutating route (PATCH /customers/:id) with and without its audit entry (an unaudited twin
// of the API), the bench's trivial mutations with and without one (insert into the 10M-row partitioned
// audit_logs), one day's first page out of the whole table (HTTP and SQL), and the
// insert rate partitioned vs unpartitioned from bench/audit.bench.mjs (spawned; it builds both tables).
import { performance } from 'node:perf_hooks';
import { connect, log, percentile, probe } from '../harness.mjs';
import { auditDays } from '../queries.mjs';

export async function auditScenario(ctx) {
  const { api, cfg, member, owner, dataset } = ctx;
  const rows = [];

  // 1. The request-path cost of auditing. The target row: a real mutating route, PATCH /customers/:id
  // (validation, permission check, row lock, If-Match version check, UPDATE, its audit entry in the same
  // transaction, response), against the identical route in a twin API process whose AuditService.recordChange
  // writes nothing (bench/fixtures/bench-api-unaudited.main.ts). Then informational rows: the worst case, a
  // one-row INSERT whose audit entry is a second INSERT as heavy as the write; the same write audited by
  // @Audited's interceptor (a transaction of its own after the change commits: a second WAL flush); and a
  // "mutation" that writes nothing, where the audit insert is all the database work there is.
  rows.push(await auditPatchRow(ctx));
  const mutation = (path) => ({ url: `${api.url}/api/v1/bench/${path}`, method: 'POST', headers: member });
  /** An informational row: an audited bench route against its plain twin, compared in alternating rounds. */
  const infoRow = async (id, scenario, plainPath, auditedPath) => {
    const { a: plain, b: audited } = await ctx.compare(mutation(plainPath), mutation(auditedPath));
    return ctx.row({
      id,
      group: 'Audit',
      scenario,
      app: audited,
      baseline: plain,
      baselineLabel: 'not audited',
      ratio: audited.rps / plain.rps,
      target: '≥ 0.9×',
      pass: audited.rps / plain.rps >= 0.9,
      informational: true,
    });
  };
  rows.push(
    await infoRow(
      'audit-request-cost',
      'Worst case: POST /bench/write-audited vs /bench/write, a one-row INSERT in a transaction with vs without its audit entry (a second INSERT as heavy as the write) in the same transaction (req/s, 10 connections)',
      'write',
      'write-audited',
    ),
    await infoRow(
      'audit-request-cost-interceptor',
      'POST /bench/write-intercepted (the same write under @Audited: the entry in a second transaction after the commit) vs /bench/write',
      'write',
      'write-intercepted',
    ),
    await infoRow(
      'audit-request-cost-noop',
      'POST /bench/mutate-audited vs /bench/mutate: a handler that writes nothing, with vs without @Audited (worst case: the audit insert is the only database work)',
      'mutate',
      'mutate-audited',
    ),
  );

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

/** As many connections as the other API rows (and the API's DB_POOL_SIZE). */
const PATCH_CONNECTIONS = 10;

/** Rows the PATCH scenario creates for itself (and deletes after): found by this tag, leftovers of a killed run too. */
const PATCH_TAG = 'bench-audit-patch';

/**
 * PATCH /customers/:id, audited (this run's API) vs unaudited (the twin), A B B A. The owner patches customers
 * the scenario inserts for itself in a department outside the member's subtree (so no member-scoped result
 * changes even while it runs), deleted at the end. Each request changes company and phone of a row no other
 * request is patching at the moment, with If-Match the version its last response returned.
 */
async function auditPatchRow(ctx) {
  const { api, owner, dataset } = ctx;
  const count = 400;
  const db = await connect(dataset.url);
  let twin;
  try {
    const {
      rows: [scope],
    } = await db.query(
      `SELECT u.organization_id,
              (SELECT d.id FROM departments d
                WHERE d.organization_id = u.organization_id AND left(d.path, length($2)) <> $2
                ORDER BY d.path LIMIT 1) AS department_id
         FROM users u WHERE u.id = $1`,
      [dataset.state.owner.id, dataset.state.member.departmentPath],
    );
    if (!scope?.department_id) throw new Error('audit PATCH: no department outside the member subtree');
    await db.query('DELETE FROM customers WHERE organization_id = $1 AND tags @> ARRAY[$2::text]', [
      scope.organization_id,
      PATCH_TAG,
    ]);
    const { rows: created } = await db.query(
      `INSERT INTO customers (id, organization_id, department_id, name, company, phone, status, tags)
       SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'Audit bench ' || i, 'Audit bench co', '+1 555 0000', 'active',
              ARRAY[$3::text]
         FROM generate_series(1, $4::int) AS i
       RETURNING id, version`,
      [scope.organization_id, scope.department_id, PATCH_TAG, count],
    );
    const pool = patchPool(created);
    twin = await ctx.startApiTwin('api-unaudited', 'bench/fixtures/bench-api-unaudited.main.js');
    const target = (url) => patchTarget(url, owner, pool);
    const { a: unaudited, b: audited } = await ctx.compare(target(twin.url), target(api.url));
    const ratio = audited.rps / unaudited.rps;
    const row = ctx.row({
      id: 'audit-request-cost-patch',
      group: 'Audit',
      scenario:
        'PATCH /customers/:id (owner; validation, permission check, row lock, If-Match, UPDATE, response) with its audit entry in the same transaction vs the same route in a twin API whose AuditService.recordChange writes nothing (req/s, 10 connections, a row per request in flight)',
      app: audited,
      baseline: unaudited,
      baselineLabel: 'not audited',
      ratio,
      target: '≥ 0.9×',
      pass: ratio >= 0.9,
    });
    if (!row.pass) {
      await ctx.profile('audit-mutation', 'PATCH /customers/:id (audited) under load', () => ctx.load(target(api.url)));
    }
    return row;
  } finally {
    await twin?.stop();
    // The scenario's rows go (their audit entries stay: the log is append-only), and so do the dead tuples
    // their updates left in customers' indexes, so later cursor pages and plans see the table as before.
    try {
      const started = Date.now();
      await db.query('DELETE FROM customers WHERE tags @> ARRAY[$1::text]', [PATCH_TAG]);
      await db.query('VACUUM customers');
      log(`  audit PATCH: customers cleaned up and vacuumed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await db.end();
    }
  }
}

/**
 * The rows to patch: each is handed to one request at a time; its version is the one the last response
 * returned (unknown after a request that got no answer, e.g. in flight when a run ended: then no If-Match).
 */
function patchPool(created) {
  const rows = created.map((r) => ({ id: r.id, version: r.version, busySince: 0 }));
  let next = 0;
  let sequence = 0;
  return {
    take() {
      const now = Date.now();
      for (let i = 0; i < rows.length; i++) {
        const row = rows[(next + i) % rows.length];
        if (row.busySince && now - row.busySince < 5000) continue;
        if (row.busySince) row.version = undefined; // its request never got an answer
        next = (next + i + 1) % rows.length;
        row.busySince = now;
        return { row, n: ++sequence };
      }
      throw new Error('audit PATCH: every row is busy');
    },
    release(row, version) {
      row.busySince = 0;
      row.version = version;
    },
  };
}

/** An autocannon target: every request patches the next free row of `pool` on `url`'s API. */
function patchTarget(url, headers, pool) {
  return {
    url,
    method: 'PATCH',
    connections: PATCH_CONNECTIONS,
    requests: [
      {
        setupRequest(req, context) {
          const { row, n } = pool.take();
          context.row = row;
          return {
            ...req,
            path: `/api/v1/customers/${row.id}`,
            headers: {
              ...req.headers,
              ...headers,
              'content-type': 'application/json',
              ...(row.version !== undefined ? { 'if-match': `"${row.version}"` } : {}),
            },
            body: JSON.stringify({ company: `Audit bench co ${n}`, phone: `+1 555 ${n}` }),
          };
        },
        onResponse(status, _body, context, responseHeaders) {
          const version = status === 200 ? /"(\d+)"/.exec(responseHeaders.etag ?? '')?.[1] : undefined;
          pool.release(context.row, version === undefined ? undefined : Number(version));
        },
      },
    ],
  };
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
        'Floor of the audited write, SQL only: 10 bare pg clients, START/INSERT/COMMIT with vs without the audit statement (named prepared); bench/audit.bench.mjs',
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
