import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import { AppConfig } from '../src/config/app.config';
import { REDIS } from '../src/core/redis/redis.module';
import { bearer, registerOwner, type TestAccount } from './helpers/auth';
import { expectProblem } from './helpers/problem';
import { writesAbout, writesDuring } from './helpers/redis-writes';
import { createTestApp } from './helpers/test-app';

// Every request as it goes when this process knows nothing (a cold session): near cache and batching off.
const ASK_REDIS_EVERY_TIME = { REDIS_NEAR_CACHE: 'false', RATE_LIMIT_BATCH_MS: '0' };

describe('Redis round trips of an authenticated request the process knows nothing about', () => {
  let app: NestFastifyApplication;
  let redis: Redis;
  let owner: TestAccount;

  const list = (account: TestAccount) =>
    app.inject({ method: 'GET', url: '/api/v1/customers?limit=20', headers: bearer(account.accessToken) });
  const about = writesAbout;

  beforeAll(async () => {
    app = await createTestApp(ASK_REDIS_EVERY_TIME);
    redis = app.get<Redis>(REDIS);
    owner = await registerOwner(app, 'round-trips');
  });

  afterAll(async () => {
    await app.close();
  });

  it('should send the session, grant and rate-limit lookups of a permission-checked, limited route as one command', async () => {
    // Warm: session state and grants cached, scripts known to Redis.
    expect((await list(owner)).statusCode).toBe(200);

    const { response, writes } = await writesDuring(redis, () => list(owner));

    expect(response.statusCode).toBe(200);
    expect(response.headers.ratelimit).toMatch(/^"default";r=\d+;t=\d+$/);
    const mine = about(writes, owner);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toHaveLength(1);
    const [name, sha, keyCount, ...rest] = mine[0][0];
    expect([name.toLowerCase(), sha, keyCount]).toEqual(['evalsha', expect.stringMatching(/^[0-9a-f]{40}$/), '3']);
    // The session's key first (the JWT guard's own part), then the grants' and the counter's, in either order.
    const keys = rest.slice(0, 3);
    expect(keys[0]).toMatch(new RegExp(`session:${owner.sessionId}$`));
    expect(keys.slice(1)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`rbac:version:${owner.organizationId}$`)),
        expect.stringMatching(new RegExp(`rl:GET:/api/v1/customers:user:${owner.userId}$`)),
      ]),
    );
  });

  it('should not read the grants for a route that checks no permission', async () => {
    // /auth/me: authenticated only (rate-limited by default): session and counter, in one command.
    const me = () => app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(owner.accessToken) });
    expect((await me()).statusCode).toBe(200);

    const { response, writes } = await writesDuring(redis, me);

    expect(response.statusCode).toBe(200);
    const mine = about(writes, owner);
    expect(mine).toHaveLength(1);
    expect(mine[0].map(([name, , keyCount, ...keys]) => [name.toLowerCase(), keyCount, keys.slice(0, 2)])).toEqual([
      [
        'evalsha',
        '2',
        [
          expect.stringMatching(new RegExp(`session:${owner.sessionId}$`)),
          expect.stringMatching(new RegExp(`rl:GET:/api/v1/auth/me:user:${owner.userId}$`)),
        ],
      ],
    ]);
  });

  it('should load grants missing from the cache from PostgreSQL and cache them for the next request', async () => {
    const account = await registerOwner(app, 'round-trips-grants-miss');
    expect((await list(account)).statusCode).toBe(200);
    // A role change bumps the organization's RBAC version: the grants cached under the old one are not read.
    await redis.incr(`${app.get(AppConfig).redis.keyPrefix}rbac:version:${account.organizationId}`);

    const missed = await writesDuring(redis, () => list(account));
    expect(missed.response.statusCode).toBe(200);
    // The script, then the grants written under the new version.
    const commands = about(missed.writes, account).flat();
    expect(commands.map(([name]) => name.toLowerCase())).toEqual(['evalsha', 'set']);
    expect(commands[1][1]).toMatch(new RegExp(`rbac:grants:${account.organizationId}:\\d+:${account.userId}$`));

    const hit = await writesDuring(redis, () => list(account));
    expect(hit.response.statusCode).toBe(200);
    expect(
      about(hit.writes, account)
        .flat()
        .map(([name]) => name.toLowerCase()),
    ).toEqual(['evalsha']);
  });

  it('should refuse a revoked session on the very next request, although its other lookups were already started', async () => {
    const other = await registerOwner(app, 'round-trips-revoked');
    expect((await list(other)).statusCode).toBe(200);
    const logout = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(other.accessToken),
      payload: { refreshToken: other.refreshToken },
    });
    expect(logout.statusCode).toBe(204);

    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { response, writes } = await writesDuring(redis, () => list(other));
      expectProblem(response, 401, 'session-revoked');
      // Started together, as one command; the session answer decided.
      expect(about(writes, other).flat()).toHaveLength(1);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('should answer 429 from the counter started with the session lookup once the limit is reached', async () => {
    const limited = await createTestApp({ ...ASK_REDIS_EVERY_TIME, RATE_LIMIT_MAX: '2' });
    try {
      const account = await registerOwner(limited, 'round-trips-limited');
      const call = () =>
        limited.inject({ method: 'GET', url: '/api/v1/customers?limit=20', headers: bearer(account.accessToken) });
      const allowed = [await call(), await call()];
      expect(allowed.map((res) => res.statusCode)).toEqual([200, 200]);
      expect(allowed.map((res) => res.headers.ratelimit)).toEqual([
        expect.stringMatching(/^"default";r=1;/),
        expect.stringMatching(/^"default";r=0;/),
      ]);
      const refused = await call();
      expectProblem(refused, 429, 'rate-limited');
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      await limited.close();
    }
  });
});

describe('An authenticated request with Redis unreachable', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    // Nothing listens on this port: sessions and grants come from PostgreSQL, limits are counted in-process.
    app = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:6399' });
  });

  afterAll(async () => {
    await app.close();
  });

  it('should still be answered, checked against PostgreSQL and limited in this process', async () => {
    const owner = await registerOwner(app, 'round-trips-down');
    const list = () =>
      app.inject({ method: 'GET', url: '/api/v1/customers?limit=20', headers: bearer(owner.accessToken) });

    const first = await list();
    expect(first.statusCode).toBe(200);
    const second = await list();
    expect(second.statusCode).toBe(200);
    const remaining = (res: LightMyRequestResponse) => Number(/;r=(\d+);/.exec(String(res.headers.ratelimit))?.[1]);
    expect(remaining(second)).toBe(remaining(first) - 1);

    const logout = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(owner.accessToken),
      payload: { refreshToken: owner.refreshToken },
    });
    expect(logout.statusCode).toBe(204);
    expectProblem(await list(), 401, 'session-revoked');
  });
});
