// Audit benchmark (issue #5): sustained insert rate into the monthly-partitioned audit_logs vs an unpartitioned
// twin (same columns and indexes) in the same run, and the latency of one organization's one-day query in a
// large table (BENCH_AUDIT_ROWS rows over 12 months, default 1,000,000; the 10,000,000 works too).
//   npm run bench:audit            BENCH_AUDIT_ROWS=10000000 BENCH_DURATION=10 npm run bench:audit
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { benchEnv, load as loadRoute, startServer, withDatabase, writeResult } from './lib.mjs';

const require = createRequire(import.meta.url);
require('ts-node').register({ transpileOnly: true });
const { Client } = require('pg');
const { AuditLogs1764468000000 } = require('../migrations/1764468000000-audit-logs.ts');
const { AUDIT_APPEND_SQL, AUDIT_APPEND_STATEMENT } = require('../src/modules/audit/audit-append.statement.ts');
const { uuidv7 } = require('../src/core/database/uuidv7.ts');

const ROWS = Number(process.env.BENCH_AUDIT_ROWS ?? 1_000_000);
const DURATION = Number(process.env.BENCH_DURATION ?? 6);
const WRITERS = Number(process.env.BENCH_AUDIT_WRITERS ?? 4);
const BATCH = 100;
const ORGS = 50;
const QUERY_RUNS = 200;

const TABLES = { partitioned: 'audit_logs', unpartitioned: 'audit_logs_flat' };

async function connect(url) {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** The migration's own DDL, then 12 past months of partitions and the unpartitioned twin. */
async function schema(db) {
  await new AuditLogs1764468000000().up({ query: (sql) => db.query(sql) });
  await db.query(`DO $$ DECLARE m date; BEGIN
    FOR i IN 1..12 LOOP
      m := (date_trunc('month', now()) - make_interval(months => i))::date;
      EXECUTE format('CREATE TABLE %I PARTITION OF audit_logs FOR VALUES FROM (%L) TO (%L)',
                     'audit_logs_' || to_char(m, 'YYYY_MM'), m, (m + interval '1 month')::date);
    END LOOP; END $$`);
  await db.query('CREATE TABLE audit_logs_flat (LIKE audit_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)');
  await db.query('ALTER TABLE audit_logs_flat ADD PRIMARY KEY (id, occurred_at)');
  const indexes = await db.query(
    "SELECT indexdef FROM pg_indexes WHERE tablename = 'audit_logs' AND indexname NOT LIKE '%pkey'",
  );
  for (const { indexdef } of indexes.rows) {
    await db.query(
      indexdef.replace(/INDEX (\w+) ON (ONLY )?public\.audit_logs /, 'INDEX $1_flat ON public.audit_logs_flat '),
    );
  }
}

/** One multi-row INSERT of BATCH entries at now(), like the recorder writes them (hash-sized text included). */
const insertSql = (table) => `
  INSERT INTO ${table} (id, occurred_at, organization_id, actor_id, action, resource_type, resource_id, outcome,
                        ip, user_agent, request_id, changes, details, chain_key, seq, prev_hash, hash)
  SELECT gen_random_uuid(), clock_timestamp(), o.id, gen_random_uuid(), 'customers.update', 'customer', g::text,
         'success', '203.0.113.7', 'bench/1.0', md5(g::text),
         '{"before":{"name":"a"},"after":{"name":"b"}}', NULL, o.id::text, g, md5(g::text) || md5(g::text),
         md5((g + 1)::text) || md5(g::text)
    FROM generate_series(1, ${BATCH}) g
   CROSS JOIN (SELECT ('00000000-0000-4000-8000-' || lpad(($1::int % ${ORGS})::text, 12, '0'))::uuid AS id) o`;

/** Rows per second that WRITERS connections sustain for DURATION seconds. */
async function insertRate(url, table) {
  const clients = await Promise.all(Array.from({ length: WRITERS }, () => connect(url)));
  const deadline = performance.now() + DURATION * 1000;
  let rows = 0;
  const start = performance.now();
  await Promise.all(
    clients.map(async (client, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await client.query(insertSql(table), [w * 1_000_000 + i]);
        rows += BATCH;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(clients.map((client) => client.end()));
  return Math.round(rows / seconds);
}

/** ROWS entries spread evenly over the last 12 months and ORGS organizations, in one INSERT … SELECT. */
async function load(db, table) {
  const start = performance.now();
  await db.query(`
    INSERT INTO ${table} (id, occurred_at, organization_id, actor_id, action, resource_type, resource_id, outcome,
                          chain_key, seq, prev_hash, hash)
    SELECT gen_random_uuid(),
           date_trunc('month', now()) - interval '365 days' + (g * (interval '365 days' / ${ROWS})),
           ('00000000-0000-4000-8000-' || lpad((g % ${ORGS})::text, 12, '0'))::uuid,
           NULL, CASE WHEN g % 10 = 0 THEN 'auth.login' ELSE 'customers.update' END, 'customer', (g % 5000)::text,
           'success', ('00000000-0000-4000-8000-' || lpad((g % ${ORGS})::text, 12, '0')), g, md5(g::text), md5((g + 1)::text)
      FROM generate_series(1, ${ROWS}) g`);
  await db.query(`ANALYZE ${table}`);
  return (performance.now() - start) / 1000;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The list API's query for one organization and one day (first page), and a count over the same day. */
async function dayQueries(db, table) {
  const results = {};
  const queries = {
    firstPage: `SELECT * FROM ${table} WHERE organization_id = $1 AND occurred_at >= $2 AND occurred_at < $3
                ORDER BY occurred_at DESC, id DESC LIMIT 21`,
    countDay: `SELECT count(*) FROM ${table} WHERE organization_id = $1 AND occurred_at >= $2 AND occurred_at < $3`,
  };
  for (const [name, sql] of Object.entries(queries)) {
    const times = [];
    for (let i = 0; i < QUERY_RUNS; i++) {
      const day = new Date(Date.now() - (30 + (i % 300)) * 86_400_000);
      day.setUTCHours(0, 0, 0, 0);
      const org = `00000000-0000-4000-8000-${String(i % ORGS).padStart(12, '0')}`;
      const start = performance.now();
      await db.query(sql, [org, day, new Date(day.getTime() + 86_400_000)]);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    results[name] = { p50: percentile(times, 50), p95: percentile(times, 95), p99: percentile(times, 99) };
  }
  return results;
}

/** CPU seconds (user + system) a process has used so far, from /proc (null where there is no /proc). */
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/**
 * The floor of the audited write in SQL alone: 10 bare pg clients run the statements /bench/write and
 * /bench/write-audited send, as the app's transactions send them (START TRANSACTION, the INSERT, COMMIT: one
 * round trip each; READ COMMITTED is the connections' default, so no SET TRANSACTION), without and with the audit entry's statement, as the
 * unnamed statement the service used to send (parsed and planned every time) and as the named prepared
 * statement it sends now; and with a `SELECT 1` in its place, the cost of the round trip alone. No Nest, no
 * TypeORM, no HTTP: what is left of the ratio is PostgreSQL's own work and one more round trip. Reports
 * transactions/s, the server's CPU per transaction (the 10 backends, from /proc) and this client's.
 */
async function statementFloor(url) {
  const probe = await connect(url);
  const [user] = (await probe.query('SELECT id, organization_id FROM users LIMIT 1')).rows;
  await probe.end();
  const clients = await Promise.all(Array.from({ length: 10 }, () => connect(url)));
  const pids = await Promise.all(
    clients.map(async (c) => (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid),
  );
  const write = (client) =>
    client.query('INSERT INTO bench_writes (id, organization_id, actor_id, note) VALUES ($1, $2, $3, $4)', [
      uuidv7(),
      user.organization_id,
      user.id,
      'bench',
    ]);
  const entryValues = () => {
    const now = new Date();
    const id = uuidv7(now.getTime());
    return [
      id,
      now,
      user.organization_id,
      user.id,
      'bench.write',
      'bench',
      uuidv7(),
      'success',
      '127.0.0.1',
      'autocannon',
      randomBytes(8).toString('hex'),
      JSON.stringify({ before: {}, after: { id, note: 'bench' } }),
      null,
      user.organization_id,
    ];
  };
  const variants = {
    plain: async () => {},
    // One more round trip that does nothing: the share of the cost that is the round trip itself.
    roundTrip: (client) => client.query({ name: 'bench_floor_noop', text: 'SELECT 1', values: [] }),
    unnamed: (client) => client.query(AUDIT_APPEND_SQL, entryValues()),
    prepared: (client) => client.query({ name: AUDIT_APPEND_STATEMENT, text: AUDIT_APPEND_SQL, values: entryValues() }),
  };
  const run = async (audit, seconds) => {
    const cpuBefore = pids.map(cpuSecondsOf);
    const clientCpuBefore = process.cpuUsage();
    const deadline = performance.now() + seconds * 1000;
    const start = performance.now();
    let transactions = 0;
    await Promise.all(
      clients.map(async (client) => {
        while (performance.now() < deadline) {
          await client.query('START TRANSACTION');
          await write(client);
          await audit(client);
          await client.query('COMMIT');
          transactions++;
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    const serverCpu = pids.map(cpuSecondsOf).reduce((sum, after, i) => sum + after - cpuBefore[i], 0);
    const { user, system } = process.cpuUsage(clientCpuBefore);
    return {
      tps: transactions / elapsed,
      serverCpuMsPerTx: (serverCpu * 1000) / transactions,
      clientCpuMsPerTx: (user + system) / 1000 / transactions,
    };
  };
  try {
    for (const audit of Object.values(variants)) await run(audit, 1);
    const rounds = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
    for (let round = 0; round < 2; round++) {
      const order = round % 2 === 0 ? Object.keys(variants) : Object.keys(variants).reverse();
      for (const name of order) rounds[name].push(await run(variants[name], DURATION));
    }
    const mean = (list, key) => list.reduce((sum, r) => sum + r[key], 0) / list.length;
    const result = Object.fromEntries(
      Object.entries(rounds).map(([name, list]) => [
        name,
        {
          tps: Math.round(mean(list, 'tps')),
          serverCpuMsPerTx: Number(mean(list, 'serverCpuMsPerTx').toFixed(3)),
          clientCpuMsPerTx: Number(mean(list, 'clientCpuMsPerTx').toFixed(3)),
        },
      ]),
    );
    return {
      ...result,
      ratios: {
        roundTripVsPlain: result.roundTrip.tps / result.plain.tps,
        unnamedVsPlain: result.unnamed.tps / result.plain.tps,
        preparedVsPlain: result.prepared.tps / result.plain.tps,
      },
    };
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

/** The same trivial mutation through the real API, with and without the audit interceptor. */
async function requestOverhead() {
  return withDatabase('atrium_bench_audit_api', async (databaseUrl) => {
    const { child, url } = await startServer(
      'bench/fixtures/bench-api.main.ts',
      benchEnv(databaseUrl, { BCRYPT_COST: '4' }),
    );
    try {
      const registered = await fetch(`${url}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          organizationName: 'Bench',
          name: 'Bench',
          email: `bench-${randomBytes(4).toString('hex')}@atrium.test`,
          password: 'bench-Password-for-audit-1',
        }),
      });
      const { accessToken } = await registered.json();
      const route = (path) => ({
        url: `${url}/api/v1/bench/${path}`,
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}` },
      });
      await loadRoute({ ...route('mutate'), duration: 2 });
      await loadRoute({ ...route('mutate-audited'), duration: 2 });
      const plain = await loadRoute({ ...route('mutate'), duration: DURATION });
      const audited = await loadRoute({ ...route('mutate-audited'), duration: DURATION });
      // The API is idle now; the SQL floor runs against the same database (its bench_writes table included).
      const floor = await statementFloor(databaseUrl);
      return { plain, audited, ratio: audited.reqPerSec / plain.reqPerSec, floor };
    } finally {
      child.kill('SIGTERM');
    }
  });
}

const requestPath = await requestOverhead();

await withDatabase('atrium_bench_audit', async (url) => {
  const db = await connect(url);
  try {
    await schema(db);
    // Alternating rounds, so neither table profits from a warmer cache or checkpoint timing.
    const inserts = { partitioned: [], unpartitioned: [] };
    for (let round = 0; round < 2; round++) {
      for (const [kind, table] of Object.entries(TABLES)) inserts[kind].push(await insertRate(url, table));
    }
    const insertRowsPerSec = Object.fromEntries(
      Object.entries(inserts).map(([kind, rates]) => [kind, Math.round(rates.reduce((a, b) => a + b) / rates.length)]),
    );
    for (const table of Object.values(TABLES)) await db.query(`TRUNCATE ${table}`);

    const loadSeconds = {};
    for (const [kind, table] of Object.entries(TABLES)) loadSeconds[kind] = await load(db, table);
    const oneDay = {};
    for (const [kind, table] of Object.entries(TABLES)) oneDay[kind] = await dayQueries(db, table);

    const result = {
      requestPath,
      rows: ROWS,
      organizations: ORGS,
      insert: { writers: WRITERS, batch: BATCH, durationSeconds: DURATION, rowsPerSec: insertRowsPerSec },
      bulkLoadSeconds: loadSeconds,
      oneDayQueryMs: oneDay,
      ratios: {
        auditedVsPlainMutation: requestPath.ratio,
        insertPartitionedVsUnpartitioned: insertRowsPerSec.partitioned / insertRowsPerSec.unpartitioned,
        firstPageP50PartitionedVsUnpartitioned: oneDay.partitioned.firstPage.p50 / oneDay.unpartitioned.firstPage.p50,
        countDayP50PartitionedVsUnpartitioned: oneDay.partitioned.countDay.p50 / oneDay.unpartitioned.countDay.p50,
      },
    };
    const file = writeResult('audit', result);
    console.log(JSON.stringify(result, null, 2));
    console.log(`written to ${file}`);
  } finally {
    await db.end();
  }
});
