// Loads customers into a reusable bench database for `npm run bench:customers` (issue #6):
//   npm run bench:seed                          # BENCH_CUSTOMERS customers (default 1,000,000)
//   BENCH_CUSTOMERS=200000 npm run bench:seed   # smaller, faster
// The database (BENCH_CUSTOMERS_DB, default atrium_bench_customers) is dropped and recreated, migrated by
// starting the real API once, then filled with INSERT … SELECT generate_series in batches, with the
// customers' secondary indexes dropped during the load and rebuilt afterwards (much faster than maintaining
// a trigram GIN index row by row). What the bench needs to log in is written to var/bench-customers.json.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchEnv, ROOT, startServer } from './lib.mjs';

const require = createRequire(import.meta.url);
const { Client } = require('pg');

const COUNT = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
const DB = process.env.BENCH_CUSTOMERS_DB ?? 'atrium_bench_customers';
const BATCH = 100_000;
const DEPARTMENTS = 20;
const STATE_FILE = join(ROOT, 'var', 'bench-customers.json');
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

// 50 first names × 200 last names: a last name matches ~1/200 of the rows, a full name ~1/10,000.
const FIRST =
  'ada alan grace edsger barbara donald ken dennis linus guido bjarne james john margaret frances radia tim vint bob leslie niklaus tony robin peter judea shafi silvio whitfield martin ivan adele anita jean sophie hedy katherine dorothy mary annie evelyn joan ruth lynn betty kathleen marlyn jennifer susan carol ellen'.split(
    ' ',
  );
const LAST = Array.from(
  { length: 200 },
  (_, i) =>
    `${['lovel', 'babb', 'hopp', 'turin', 'knuth', 'ritch', 'thomp', 'lampo', 'wirth', 'hoare'][i % 10]}${['ace', 'age', 'er', 'ing', 'son', 'ell', 'ard', 'ova', 'ini', 'ez', 'berg', 'stein', 'wood', 'field', 'ford', 'ton', 'ley', 'man', 'ski', 'ridge'][Math.floor(i / 10)]}`,
);
const COMPANIES = Array.from(
  { length: 500 },
  (_, i) => `Company ${i} ${['Labs', 'Ltd', 'GmbH', 'Inc', 'Systems'][i % 5]}`,
);

const url = new URL(ADMIN_URL);
url.pathname = `/${DB}`;
const databaseUrl = url.toString();

const admin = new Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS "${DB}" WITH (FORCE)`);
await admin.query(`CREATE DATABASE "${DB}"`);
await admin.end();

// Migrate and register an owner through the real API.
const password = `bench-Password-${randomBytes(4).toString('hex')}`;
const email = `bench-${randomBytes(4).toString('hex')}@atrium.test`;
const { child, url: api } = await startServer(
  'bench/fixtures/bench-api.main.ts',
  benchEnv(databaseUrl, { BCRYPT_COST: '4' }),
);
try {
  const res = await fetch(`${api}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ organizationName: 'Bench customers', name: 'Bench', email, password }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
} finally {
  child.kill('SIGTERM');
}

const db = new Client({ connectionString: databaseUrl });
await db.connect();
const [{ organization_id: organizationId, id: ownerId }] = (
  await db.query('SELECT organization_id, id FROM users WHERE email = $1', [email])
).rows;
const departmentIds = [];
for (let i = 0; i < DEPARTMENTS; i++) {
  // Two levels: 4 roots with 4 children each (and the 4 roots themselves).
  const parent = i >= 4 ? departmentIds[i % 4] : null;
  const { rows } = await db.query(
    `INSERT INTO departments (id, organization_id, parent_id, name, path, depth)
     SELECT id, $1, $2::uuid, $3, COALESCE((SELECT path FROM departments WHERE id = $2::uuid), '/') || id || '/',
            CASE WHEN $2::uuid IS NULL THEN 0 ELSE 1 END
       FROM (SELECT gen_random_uuid() AS id) g RETURNING id`,
    [organizationId, parent, `Department ${i}`],
  );
  departmentIds.push(rows[0].id);
}

const { rows: indexes } = await db.query(
  "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'customers' AND indexname <> 'customers_pkey'",
);
for (const { indexname } of indexes) await db.query(`DROP INDEX ${indexname}`);

const started = performance.now();
for (let from = 0; from < COUNT; from += BATCH) {
  const to = Math.min(COUNT, from + BATCH) - 1;
  // created_at spreads over ~1 year, 1 row every ~30 s, with duplicates every few rows (ties break by id).
  await db.query(
    `INSERT INTO customers (id, organization_id, department_id, owner_id, name, email, phone, company, status, tags,
                            custom_fields, created_at, updated_at)
     SELECT gen_random_uuid(), $1,
            CASE WHEN g % 10 = 0 THEN NULL ELSE ($2::uuid[])[1 + g % array_length($2::uuid[], 1)] END,
            CASE WHEN g % 3 = 0 THEN $3::uuid END,
            initcap(($4::text[])[1 + g % 50] || ' ' || ($5::text[])[1 + (g / 50) % 200]),
            ($4::text[])[1 + g % 50] || '.' || g || '@example.com',
            '+1 555 ' || lpad(g::text, 7, '0'),
            ($6::text[])[1 + g % 500],
            (ARRAY['lead', 'prospect', 'active', 'churned'])[1 + g % 4],
            CASE g % 5 WHEN 0 THEN ARRAY['vip'] WHEN 1 THEN ARRAY['newsletter', 'vip'] WHEN 2 THEN ARRAY['newsletter']
                       ELSE '{}'::text[] END,
            jsonb_build_object('seq', g),
            timestamptz '2025-01-01' + (g / 3) * interval '90 seconds',
            timestamptz '2025-01-01' + (g / 3) * interval '90 seconds' + (g % 97) * interval '1 hour'
       FROM generate_series($7::int, $8::int) g`,
    [organizationId, departmentIds, ownerId, FIRST, LAST, COMPANIES, from, to],
  );
  process.stdout.write(`\r${to + 1} / ${COUNT} customers (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}
process.stdout.write('\nrebuilding indexes…\n');
for (const { indexdef } of indexes) await db.query(indexdef);
await db.query('VACUUM ANALYZE customers');
await db.query('ANALYZE departments');
await db.end();

mkdirSync(join(ROOT, 'var'), { recursive: true });
writeFileSync(
  STATE_FILE,
  `${JSON.stringify({ databaseUrl, email, password, organizationId, count: COUNT, seededAt: new Date().toISOString() }, null, 2)}\n`,
);
console.log(
  `${COUNT} customers in ${DB} after ${((performance.now() - started) / 1000).toFixed(0)} s; state in ${STATE_FILE}`,
);
