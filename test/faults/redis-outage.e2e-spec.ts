import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/wait-for';
import { call, expectProblem, login, registerOwner, type Account } from './support/api-client';
import { killAll, startApi, startWorker, type RunningApi, type RunningProcess } from './support/processes';
import { RedisServer } from './support/redis-server';

/*
 * Redis stopped and started again under a running API process and worker process. The Redis is a
 * redis-server of this test's own (never the machine's shared one), persisted to an append-only file, so it
 * comes back with its data — the case where copies cached before the outage could be served stale.
 */
const PREFIX = 'atrium-fault:';
const AUTH_MAX = 4;

describe('Redis stopped and restarted under running API and worker processes', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let api: RunningApi;
  let worker: RunningProcess;
  let owner: Account;
  let second: Account;
  let orgSlug: string;
  /** Work committed while Redis was down, whose jobs must run once it is back. */
  let outagePingId: string;
  let outageImportId: string;

  const env = (): Record<string, string> => ({
    REDIS_URL: redisServer.url,
    REDIS_KEY_PREFIX: PREFIX,
    RATE_LIMIT_AUTH_MAX: String(AUTH_MAX),
    RATE_LIMIT_WINDOW_SECONDS: '120',
    QUEUE_ENQUEUE_TIMEOUT_MS: '1000',
    QUEUE_OUTBOX_RELAY_INTERVAL_MS: '200',
    QUEUE_OUTBOX_RELAY_AFTER_MS: '1000',
  });
  const get = (path: string, account: Account = owner) => call(api.url, 'GET', path, { token: account.accessToken });
  const loginAttempt = () =>
    call(api.url, 'POST', '/api/v1/auth/login', {
      body: { email: 'nobody@redis-outage.test', password: 'x'.repeat(12) },
    });

  beforeAll(async () => {
    redisServer = await RedisServer.start({ persistent: true });
    redis = new Redis(redisServer.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    redis.on('error', () => undefined);
    await redis.connect();
    [api, worker] = await Promise.all([startApi(env()), startWorker(env())]);
    owner = await registerOwner(api.url, 'redis-outage');
    second = await login(api.url, owner.email);
    orgSlug = (await get('/api/v1/organizations/current')).body.slug as string;
    for (const name of ['Ada', 'Grace']) {
      expect(
        (await call(api.url, 'POST', '/api/v1/customers', { token: owner.accessToken, body: { name } })).status,
      ).toBe(201);
    }
    const post = await call<{ id: string }>(api.url, 'POST', '/api/v1/posts', {
      token: owner.accessToken,
      body: { title: 'Before the outage', body: 'Text' },
    });
    expect(post.status).toBe(201);
    expect(
      (await call(api.url, 'POST', `/api/v1/posts/${post.body.id}/publish`, { token: owner.accessToken })).status,
    ).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await killAll();
    redis?.disconnect();
    await redisServer?.destroy();
  });

  it('should serve every read from PostgreSQL, keep sessions fail-closed, limit in-process, keep jobs in the outbox and refuse mails fast while Redis is down', async () => {
    // Warm the caches: stats, public list, both sessions' states.
    expect((await get('/api/v1/customers/stats')).body).toMatchObject({ byStatus: { lead: 2 } });
    const publicList = await call(api.url, 'GET', `/api/v1/public/${orgSlug}/posts`);
    expect(publicList.status).toBe(200);
    expect((await get('/api/v1/auth/me', second)).status).toBe(200);
    expect(await redis.get(`${PREFIX}session:${second.sessionId}`)).toBe('active');

    await redisServer.kill();

    // Cached reads fall through to PostgreSQL, quickly.
    const stats = await get('/api/v1/customers/stats');
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ byStatus: { lead: 2 } });
    expect(stats.ms).toBeLessThan(3000);
    const list = await call(api.url, 'GET', `/api/v1/public/${orgSlug}/posts`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual(publicList.body);
    expect(
      (await call(api.url, 'POST', '/api/v1/customers', { token: owner.accessToken, body: { name: 'Edsger' } })).status,
    ).toBe(201);
    expect((await get('/api/v1/customers/stats')).body).toMatchObject({ byStatus: { lead: 3 } });

    // A session revoked now is refused at once (PostgreSQL answers); the other one still works.
    const revoked = await call(api.url, 'DELETE', `/api/v1/auth/sessions/${second.sessionId}`, {
      token: owner.accessToken,
    });
    expect(revoked.status).toBe(204);
    expectProblem(await get('/api/v1/auth/me', second), 401, 'session-revoked');
    expect((await get('/api/v1/auth/me')).status).toBe(200);

    // Rate limits are counted in this process: the (AUTH_MAX + 1)-th login attempt is a 429, not unlimited.
    for (let i = 0; i < AUTH_MAX; i++) expect((await loginAttempt()).status).toBe(401);
    const limited = await loginAttempt();
    expectProblem(limited, 429, 'rate-limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

    // Work that exists to start a job is accepted: the job is committed with it, in the outbox, at once.
    const ping = await call<{ id: string; status: string }>(api.url, 'POST', '/api/v1/system/pings', {
      token: owner.accessToken,
      body: {},
    });
    expect(ping.status).toBe(202);
    expect(ping.body.status).toBe('queued');
    // Bounded well below HTTP_TIMEOUT_MS (10 s), where a request waiting for Redis would end.
    expect(ping.ms).toBeLessThan(2500);
    outagePingId = ping.body.id;
    const upload = await call<{ id: string; status: string }>(api.url, 'POST', '/api/v1/customers/import', {
      token: owner.accessToken,
      // Not a lead: the lead count checked after the outage must not depend on when the import ran.
      rawBody: 'name,email,status\r\nBarbara Liskov,barbara@redis-outage.test,active\r\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(upload.status).toBe(202);
    expect(upload.ms).toBeLessThan(2500);
    outageImportId = upload.body.id;
    // A mailed code is not kept for later (it would be stale, and in plain text in PostgreSQL): refused fast.
    const otp = await call(api.url, 'POST', '/api/v1/auth/otp/request', {
      body: { email: owner.email, purpose: 'verify_email' },
    });
    expectProblem(otp, 503, 'queue-unavailable');
    expect(otp.ms).toBeLessThan(2500);

    // Readiness names Redis; the process stays live.
    // Ready but degraded: the API serves without Redis, so it must not leave the load balancer.
    const ready = await call(api.url, 'GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'degraded', error: { redis: { status: 'down' } } });
    expect((await call(api.url, 'GET', '/health/live')).status).toBe(200);
  }, 60_000);

  it('should recover without restarting the API or the worker, and never serve the stale copies Redis comes back with', async () => {
    await redisServer.start();
    // Redis came back from its append-only file: the session's "active" state cached before the outage.
    await waitFor(async () => ((await redis.ping().catch(() => null)) === 'PONG' ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the restarted Redis',
    });
    await waitFor(
      async () => {
        const ready = await call<{ status?: string }>(api.url, 'GET', '/health/ready');
        return ready.status === 200 && ready.body.status === 'ok' ? true : undefined;
      },
      {
        timeoutMs: 15_000,
        intervalMs: 200,
        what: 'the API to reconnect to Redis',
      },
    );

    // The revocation missed during the outage was written as soon as Redis was back…
    await waitFor(
      async () => ((await redis.get(`${PREFIX}session:${second.sessionId}`)) === 'revoked' ? true : undefined),
      {
        what: 'the missed revocation to be replayed',
      },
    );
    expectProblem(await get('/api/v1/auth/me', second), 401, 'session-revoked');
    // …and a stale "active" copy is not trusted even where no replay fixed it (say, its writer crashed).
    await redis.set(`${PREFIX}session:${second.sessionId}`, 'active', 'EX', 60);
    expectProblem(await get('/api/v1/auth/me', second), 401, 'session-revoked');

    // The stats cache was invalidated for the customer created during the outage.
    expect((await get('/api/v1/customers/stats')).body).toMatchObject({ byStatus: { lead: 3 } });

    // Rate limits are counted in Redis again.
    const bucket = `${PREFIX}rl:POST:/api/v1/auth/login:ip:127.0.0.1`;
    const before = Number((await redis.get(bucket)) ?? 0);
    expect((await loginAttempt()).status).toBe(before + 1 > AUTH_MAX ? 429 : 401);
    expect(Number(await redis.get(bucket))).toBe(before + 1);
    for (let i = before + 1; i < AUTH_MAX; i++) expect((await loginAttempt()).status).toBe(401);
    expectProblem(await loginAttempt(), 429, 'rate-limited');

    // The jobs committed during the outage were relayed from the outbox and ran on the same worker process.
    const outagePing = await waitFor(
      async () => {
        const res = await get(`/api/v1/system/pings/${outagePingId}`);
        return res.body.status === 'processed' ? res.body : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the worker to process the ping sent during the outage' },
    );
    expect(outagePing.processedBy).toBe(worker.workerId);
    const outageImport = await waitFor(
      async () => {
        const res = await get(`/api/v1/customers/imports/${outageImportId}`);
        return res.body.status === 'completed' ? res.body : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the import sent during the outage to complete' },
    );
    expect(outageImport).toMatchObject({ processedRows: 1, failedRows: 0 });

    // Jobs are queued again and the same worker process, reconnected, runs them.
    const ping = await call<{ id: string }>(api.url, 'POST', '/api/v1/system/pings', {
      token: owner.accessToken,
      body: {},
    });
    expect(ping.status).toBe(202);
    const processed = await waitFor(
      async () => {
        const res = await get(`/api/v1/system/pings/${ping.body.id}`);
        return res.body.status === 'processed' ? res.body : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the worker to process the ping' },
    );
    expect(processed.processedBy).toBe(worker.workerId);
    const otp = await call(api.url, 'POST', '/api/v1/auth/otp/request', {
      body: { email: owner.email, purpose: 'verify_email' },
    });
    expect(otp.status).toBe(202);

    await sleep(100);
    expect(api.proc.child.exitCode).toBeNull();
    expect(worker.proc.child.exitCode).toBeNull();
  }, 60_000);
});
