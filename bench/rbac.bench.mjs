// RBAC benchmark (issue #4): what a permission decision costs on a request — the same trivial route public,
// authenticated only, permission-checked with the grant cache warm, and with every request missing the
// cache — and the decision function itself for a user with 50 assignments over a 1,000-department tree.
//   npm run bench:rbac
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { benchEnv, load, startServer, withDatabase, writeResult } from './lib.mjs';

const require = createRequire(import.meta.url);
require('ts-node').register({ transpileOnly: true });
const { decide } = require('../src/modules/rbac/decision/grant.ts');
const DURATION = Number(process.env.BENCH_DURATION ?? 6);

/** decide() for 50 department-scoped grants over a 1,000-department tree, against a random target. */
function decisionFunction() {
  const paths = [];
  for (let i = 0; i < 1000; i++) {
    const parent = i === 0 ? '/' : paths[Math.floor(Math.random() * i)];
    paths.push(`${parent}${randomUUID()}/`);
  }
  const patterns = ['customers:read', 'customers:*', 'posts:publish', '*:read', 'media:create'];
  const grants = Array.from({ length: 50 }, (_, i) => ({
    pattern: patterns[i % patterns.length],
    roleId: `r${i}`,
    roleName: `role ${i}`,
    assignmentId: `a${i}`,
    departmentId: `d${i}`,
    departmentPath: paths[Math.floor(Math.random() * paths.length)],
  }));
  const targets = Array.from({ length: 1024 }, () => paths[Math.floor(Math.random() * paths.length)]);
  const iterations = 200_000;
  let allowed = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) if (decide(grants, 'customers:update', targets[i & 1023]).allowed) allowed++;
  const ms = performance.now() - start;
  return {
    grants: 50,
    departments: 1000,
    decisionsPerSec: Math.round((iterations / ms) * 1000),
    microsPerDecision: (ms * 1000) / iterations,
    allowedShare: allowed / iterations,
  };
}

await withDatabase('atrium_bench_rbac', async (databaseUrl) => {
  const { child, url } = await startServer(
    'bench/fixtures/bench-api.main.ts',
    benchEnv(databaseUrl, { BCRYPT_COST: '4' }),
  );
  try {
    const email = `bench-${randomBytes(4).toString('hex')}@atrium.test`;
    const registered = await fetch(`${url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ organizationName: 'Bench', name: 'Bench', email, password: 'bench-Password-for-rbac-1' }),
    });
    const { accessToken } = await registered.json();
    const auth = { authorization: `Bearer ${accessToken}` };
    const routes = {
      public: { url: `${url}/api/v1/bench/public` },
      authenticated: { url: `${url}/api/v1/bench/private`, headers: auth },
      permissionCached: { url: `${url}/api/v1/bench/permitted`, headers: auth },
      permissionUncached: { url: `${url}/api/v1/bench/permitted-uncached`, headers: auth },
    };
    for (const route of Object.values(routes)) await load({ ...route, duration: 2 });
    const results = {};
    for (const [name, route] of Object.entries(routes)) results[name] = await load({ ...route, duration: DURATION });
    const result = {
      routes: results,
      ratios: {
        permissionCachedVsPublic: results.permissionCached.reqPerSec / results.public.reqPerSec,
        permissionCachedVsAuthenticated: results.permissionCached.reqPerSec / results.authenticated.reqPerSec,
        permissionUncachedVsCached: results.permissionUncached.reqPerSec / results.permissionCached.reqPerSec,
      },
      decisionFunction: decisionFunction(),
    };
    const file = writeResult('rbac', result);
    console.log(JSON.stringify(result, null, 2));
    console.log(`written to ${file}`);
  } finally {
    child.kill('SIGTERM');
  }
});
