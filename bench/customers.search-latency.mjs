// Search latency in PostgreSQL alone (issue #9), against the database `npm run bench:seed` filled: one
// connection, one query at a time, the SQL CustomersRepository.search sends for page 1 of
// GET /customers?limit=20&q=… (whole words, then the trigram fallback when they fill less than the page),
// next to the trigram-only query it replaced. Organization-wide and confined to one department subtree.
//   npm run bench:seed && node bench/customers.search-latency.mjs
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT } from './lib.mjs';

const require = createRequire(import.meta.url);
const { Client } = require('pg');

const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const LIMIT = 20;
const STATE_FILE = join(ROOT, 'var', 'bench-customers.json');
if (!existsSync(STATE_FILE)) throw new Error(`no ${STATE_FILE}: run npm run bench:seed first`);
const state = JSON.parse(readFileSync(STATE_FILE, 'utf8'));

const COLUMNS = `c.id, c.name, c.email, c.phone, c.company, c.status, c.tags, c.owner_id, c.department_id,
  c.custom_fields, c.version, c.created_at, c.updated_at`;
const WORDS = "plainto_tsquery('simple', $1)";
const WORD_RANK = `ts_rank(c.search_tsv, ${WORDS}) + (lower(c.name) = $1)::int::real`;
const SIMILARITY_RANK = 'word_similarity($1, c.search) + similarity($1, lower(c.name))';
const FALLBACK_RANK = `CASE WHEN c.search_tsv @@ ${WORDS} THEN 4 + (${WORD_RANK})::float8 ELSE (${SIMILARITY_RANK})::float8 END`;

/** Page 1 of one search, as the API builds it (src/modules/customers/customers.repository.ts). */
function pageSql(rank, match, scoped) {
  const scope = scoped ? 'AND c.department_id IN (SELECT d.id FROM departments d WHERE d.path LIKE ANY($3))' : '';
  return `SELECT ${COLUMNS}, ${rank} AS rank FROM customers c
    WHERE c.organization_id = $2 AND c.deleted_at IS NULL ${scope} AND ${match}
    ORDER BY ${rank} DESC, c.id DESC LIMIT ${LIMIT + 1}`;
}

const db = new Client({ connectionString: state.databaseUrl });
await db.connect();

/** The new path: whole words, then the fallback when they fill less than the page. Returns [rows, queries]. */
async function searchNow(q, params, scoped) {
  const words = await db.query(pageSql(WORD_RANK, `c.search_tsv @@ ${WORDS}`, scoped), params);
  if (words.rows.length >= LIMIT) return [words.rows.length, 1];
  const match = `(c.search_tsv @@ ${WORDS} OR $1 <% c.search)`;
  return [(await db.query(pageSql(FALLBACK_RANK, match, scoped), params)).rows.length, 2];
}

async function searchBefore(q, params, scoped) {
  return [(await db.query(pageSql(SIMILARITY_RANK, '$1 <% c.search', scoped), params)).rows.length, 1];
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  const round = (n) => Math.round(n * 10) / 10;
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1)) };
}

try {
  const {
    rows: [root],
  } = await db.query('SELECT path FROM departments WHERE organization_id = $1 AND depth = 0 ORDER BY path LIMIT 1', [
    state.organizationId,
  ]);
  const results = {};
  for (const [name, q] of Object.entries({ selective: 'grace hoppard', broad: 'hoppard', typo: 'hopard' })) {
    for (const scoped of [false, true]) {
      const params = scoped ? [q, state.organizationId, [`${root.path}%`]] : [q, state.organizationId];
      for (const [variant, run] of Object.entries({ now: searchNow, trigramOnly: searchBefore })) {
        if (variant === 'trigramOnly' && process.env.BENCH_SKIP_BEFORE) continue;
        await run(q, params, scoped); // warms the cache
        const samples = [];
        let shape;
        for (let i = 0; i < RUNS; i++) {
          const started = performance.now();
          shape = await run(q, params, scoped);
          samples.push(performance.now() - started);
        }
        const key = `${name}/${scoped ? 'department' : 'organization'}/${variant}`;
        results[key] = { q, rows: shape[0], queries: shape[1], ...stats(samples) };
        console.log(key.padEnd(40), JSON.stringify(results[key]));
      }
    }
  }
} finally {
  await db.end();
}
