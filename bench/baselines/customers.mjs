// Baseline of GET /api/v1/customers?limit=20: bare Fastify + pg running the SQL the app ran for the same
// request (captured from the API process in the same bench run: BENCH_BASELINE_SQL = JSON { text, values }),
// with the same pool size (DB_POOL_SIZE). No authentication, rate limit, permission lookup, validation,
// entity hydration or DTO mapping beyond renaming the columns; the cursor is unsigned. Prints READY <port>.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Fastify = require('fastify');
const { Pool } = require('pg');

const { text, values } = JSON.parse(process.env.BENCH_BASELINE_SQL);
const LIMIT = 20;
const HIDDEN = new Set(['organizationId', 'deletedAt']);
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) });

// c_created_at -> createdAt, computed once from the first result's columns.
let columns;
const camel = (name) => name.replace(/^c_/, '').replace(/_([a-z])/g, (_, char) => char.toUpperCase());

const app = Fastify({ logger: false });
app.get('/customers', async () => {
  const { rows } = await pool.query(text, values);
  columns ??= Object.keys(rows[0] ?? {})
    .map((key) => [key, camel(key)])
    .filter(([, name]) => !HIDDEN.has(name));
  const hasMore = rows.length > LIMIT;
  const data = rows.slice(0, LIMIT).map((row) => Object.fromEntries(columns.map(([key, name]) => [name, row[key]])));
  const last = data.at(-1);
  const nextCursor =
    hasMore && last ? Buffer.from(JSON.stringify([last.createdAt, last.id])).toString('base64url') : null;
  return { data, page: { limit: LIMIT, nextCursor, hasMore } };
});

await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`READY ${app.server.address().port}\n`);
