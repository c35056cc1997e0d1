// Auth benchmark (issue #3): login throughput vs raw bcrypt.compare at the same cost, and the per-request
// cost of the JWT guard (the same trivial route, authenticated vs public). Ratios, not absolute numbers:
// both sides of each ratio run on this machine in this session. Client and server share the 2 cores.
//   npm run bench:auth
import bcrypt from 'bcrypt';
import { createHmac, randomBytes } from 'node:crypto';
import { benchEnv, load, startServer, withDatabase, writeResult } from './lib.mjs';

const COST = Number(process.env.BENCH_BCRYPT_COST ?? 12);
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONCURRENCY = 4; // libuv's default thread pool size: bcrypt runs there

/** Raw bcrypt.compare throughput with the same concurrency the server gets, in this process. */
async function rawBcrypt() {
  const password = createHmac('sha256', randomBytes(32)).update('bench-password').digest('base64');
  const hash = await bcrypt.hash(password, COST);
  let done = 0;
  const deadline = Date.now() + DURATION * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        await bcrypt.compare(password, hash);
        done++;
      }
    }),
  );
  return done / DURATION;
}

await withDatabase('atrium_bench_auth', async (databaseUrl) => {
  const { child, url } = await startServer(
    'bench/fixtures/bench-api.main.ts',
    benchEnv(databaseUrl, { BCRYPT_COST: String(COST) }),
  );
  try {
    const email = `bench-${randomBytes(4).toString('hex')}@atrium.test`;
    const password = 'bench-Password-for-login-1';
    const registered = await fetch(`${url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ organizationName: 'Bench', name: 'Bench', email, password }),
    });
    const { accessToken } = await registered.json();

    const bcryptPerSec = await rawBcrypt();
    const login = await load({
      url: `${url}/api/v1/auth/login`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
      connections: CONCURRENCY,
      duration: DURATION,
    });
    // Warm up both routes, then measure them back to back.
    await load({ url: `${url}/api/v1/bench/public`, duration: 2 });
    await load({
      url: `${url}/api/v1/bench/private`,
      headers: { authorization: `Bearer ${accessToken}` },
      duration: 2,
    });
    const open = await load({ url: `${url}/api/v1/bench/public`, duration: DURATION });
    const guarded = await load({
      url: `${url}/api/v1/bench/private`,
      headers: { authorization: `Bearer ${accessToken}` },
      duration: DURATION,
    });

    const result = {
      bcryptCost: COST,
      login: { ...login, rawBcryptComparePerSec: bcryptPerSec, ratio: login.reqPerSec / bcryptPerSec },
      jwtGuard: { public: open, authenticated: guarded, ratio: guarded.reqPerSec / open.reqPerSec },
    };
    const file = writeResult('auth', result);
    console.log(JSON.stringify(result, null, 2));
    console.log(`login req/s ÷ raw bcrypt.compare/s = ${result.login.ratio.toFixed(2)}`);
    console.log(`authenticated ÷ public trivial route req/s = ${result.jwtGuard.ratio.toFixed(2)}`);
    console.log(`written to ${file}`);
  } finally {
    child.kill('SIGTERM');
  }
});
