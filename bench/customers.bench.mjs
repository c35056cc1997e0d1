// Customers benchmark (issue #6), against the database `npm run bench:seed` filled (1,000,000 customers by
// default): the authenticated, authorized GET /customers?limit=20 vs a bare Fastify + pg handler running
// the same SQL with the same pool size, in the same run; page 1 vs page 5,000 (via the cursor); and search
// (q) latency for a selective, a broad and a misspelled term.
//   npm run bench:seed && npm run bench:customers
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { benchEnv, load, ROOT, startServer, writeResult } from './lib.mjs';

const require = createRequire(import.meta.url);
require('reflect-metadata');
require('ts-node').register({ transpileOnly: true });
const { CursorCodec } = require('../src/core/pagination/cursor.codec.ts');
const { Client } = require('pg');

const DURATION = Number(process.env.BENCH_DURATION ?? 6);
const POOL_SIZE = process.env.BENCH_POOL_SIZE ?? '10';
const DEEP_PAGE = Number(process.env.BENCH_DEEP_PAGE ?? 5000);
const CURSOR_SECRET = 'bench-only-cursor-secret-0123456789abcdef';

/** Written by bench/customers.seed.mjs. */
const STATE_FILE = join(ROOT, 'var', 'bench-customers.json');
if (!existsSync(STATE_FILE)) throw new Error(`no ${STATE_FILE}: run npm run bench:seed first`);
const state = JSON.parse(readFileSync(STATE_FILE, 'utf8'));

/** The position of the last row of page DEEP_PAGE - 1: its cursor asks for page DEEP_PAGE. */
async function deepPosition() {
  const db = new Client({ connectionString: state.databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query(
      `SELECT created_at, id FROM customers WHERE organization_id = $1 AND deleted_at IS NULL
        ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
      [state.organizationId, (DEEP_PAGE - 1) * 20 - 1],
    );
    if (!rows[0]) throw new Error(`fewer than ${(DEEP_PAGE - 1) * 20} customers: seed more`);
    return { createdAt: rows[0].created_at, id: rows[0].id };
  } finally {
    await db.end();
  }
}

const env = benchEnv(state.databaseUrl, { DB_POOL_SIZE: POOL_SIZE, CURSOR_SECRET, BCRYPT_COST: '4' });
const apiServer = await startServer('bench/fixtures/bench-api.main.ts', env);
const bare = await startServer('bench/fixtures/bare-customers.mjs', {
  DATABASE_URL: state.databaseUrl,
  DB_POOL_SIZE: POOL_SIZE,
});
try {
  const login = await fetch(`${apiServer.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: state.email, password: state.password }),
  });
  const { accessToken } = await login.json();
  const headers = { authorization: `Bearer ${accessToken}` };
  const deep = await deepPosition();
  const cursor = new CursorCodec({ pagination: { cursorSecret: CURSOR_SECRET } }).encode({
    scope: 'customers',
    field: 'createdAt',
    direction: 'desc',
    value: deep.createdAt,
    id: deep.id,
  });
  const list = `${apiServer.url}/api/v1/customers?limit=20`;
  const bareList = `${bare.url}/customers?organizationId=${state.organizationId}`;
  const routes = {
    apiPage1: { url: list, headers },
    barePage1: { url: bareList },
    apiDeepPage: { url: `${list}&cursor=${encodeURIComponent(cursor)}`, headers },
    bareDeepPage: { url: `${bareList}&after=${deep.createdAt.toISOString()}&id=${deep.id}` },
    // A full name matches ~1/10,000 of the rows, a last name ~1/200, the typo the same ~1/200.
    searchSelective: { url: `${list}&q=${encodeURIComponent('grace hoppard')}`, headers },
    searchBroad: { url: `${list}&q=hoppard`, headers },
    searchTypo: { url: `${list}&q=hopard`, headers },
  };
  for (const [name, route] of Object.entries(routes)) {
    const res = await fetch(route.url, { headers: route.headers });
    if (res.status !== 200) throw new Error(`${name}: ${res.status} ${await res.text()}`);
    const body = await res.json();
    if (!body.data?.length) throw new Error(`${name}: empty page`);
    await load({ ...route, duration: 2 });
  }
  const results = {};
  for (const [name, route] of Object.entries(routes)) results[name] = await load({ ...route, duration: DURATION });
  const result = {
    customers: state.count,
    poolSize: Number(POOL_SIZE),
    deepPage: DEEP_PAGE,
    routes: results,
    ratios: {
      apiVsBarePage1ReqPerSec: results.apiPage1.reqPerSec / results.barePage1.reqPerSec,
      apiDeepVsPage1P50: results.apiDeepPage.p50 / results.apiPage1.p50,
      apiDeepVsPage1ReqPerSec: results.apiDeepPage.reqPerSec / results.apiPage1.reqPerSec,
      bareDeepVsPage1ReqPerSec: results.bareDeepPage.reqPerSec / results.barePage1.reqPerSec,
    },
  };
  const file = writeResult('customers', result);
  console.log(JSON.stringify(result, null, 2));
  console.log(`written to ${file}`);
} finally {
  apiServer.child.kill('SIGTERM');
  bare.child.kill('SIGTERM');
}
