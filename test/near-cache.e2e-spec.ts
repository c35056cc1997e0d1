import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { AppConfig } from '../src/config/app.config';
import { NearCache } from '../src/core/redis/near-cache';
import { redisOptionsFromUrl } from '../src/core/redis/redis-connection';
import { REDIS } from '../src/core/redis/redis.module';
import { bearer, registerOwner, type TestAccount } from './helpers/auth';
import { expectProblem } from './helpers/problem';
import { writesAbout, writesDuring } from './helpers/redis-writes';
import { waitFor } from './helpers/wait-for';
import { createTestApp } from './helpers/test-app';

/** Polls `check` every 20 ms until it is true; true, or false after `ms`. */
const within = (ms: number, check: () => Promise<boolean> | boolean) =>
  waitFor(async () => ((await check()) ? true : undefined), { timeoutMs: ms, intervalMs: 20 }).catch(() => false);

const remainingOf = (header: unknown) => Number(/;r=(\d+);/.exec(String(header))?.[1]);

describe('Near cache: warm requests ask Redis nothing, and Redis tells when a copy is stale', () => {
  let app: NestFastifyApplication;
  let redis: Redis;
  /** Another client on the same Redis: what another API instance would write. */
  let elsewhere: Redis;
  let prefix: string;

  const list = (account: TestAccount) =>
    app.inject({ method: 'GET', url: '/api/v1/customers?limit=20', headers: bearer(account.accessToken) });
  /** Commands of this app's shared client carrying a key of this account (session, grants, counter). */
  const about = (writes: string[][][], account: TestAccount) => writesAbout(writes, account).flat();
  /** Requests until one sends nothing about the account (session, grants and counter all known here). */
  const warm = async (account: TestAccount) =>
    within(3000, async () => {
      const { response, writes } = await writesDuring(redis, () => list(account));
      expect(response.statusCode).toBe(200);
      return about(writes, account).length === 0;
    });

  beforeAll(async () => {
    // The defaults: REDIS_NEAR_CACHE=true, RATE_LIMIT_BATCH_MS=100 (RATE_LIMIT_MAX is 100000 in tests).
    app = await createTestApp();
    redis = app.get<Redis>(REDIS);
    const config = app.get(AppConfig);
    prefix = config.redis.keyPrefix;
    elsewhere = new Redis(redisOptionsFromUrl(config.redis.url));
  });

  afterAll(async () => {
    await app.close();
    await elsewhere.quit();
  });

  it('should answer a warm permission-checked request without a Redis command, counting it exactly all the same', async () => {
    const owner = await registerOwner(app, 'near-warm');
    expect(await warm(owner)).toBe(true);

    const { response, writes } = await writesDuring(redis, () => list(owner));
    const next = await list(owner);

    expect(response.statusCode).toBe(200);
    expect(about(writes, owner)).toEqual([]);
    expect(remainingOf(next.headers.ratelimit)).toBe(remainingOf(response.headers.ratelimit) - 1);
    // The hits counted here reach Redis within a batch: the shared count is every request made.
    const counter = `${prefix}rl:GET:/api/v1/customers:user:${owner.userId}`;
    const made = 100_000 - remainingOf(next.headers.ratelimit);
    expect(await within(2000, async () => Number(await elsewhere.get(counter)) === made)).toBe(true);
  });

  it('should refuse a session revoked through this instance on the very next request', async () => {
    const owner = await registerOwner(app, 'near-logout');
    expect(await warm(owner)).toBe(true);

    const logout = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(owner.accessToken),
      payload: { refreshToken: owner.refreshToken },
    });
    expect(logout.statusCode).toBe(204);

    expectProblem(await list(owner), 401, 'session-revoked');
  });

  it('should refuse a session revoked by another instance as soon as Redis reports the change', async () => {
    const owner = await registerOwner(app, 'near-elsewhere');
    expect(await warm(owner)).toBe(true);

    // What SessionStateStore.put('revoked') writes, from another client. Copies live 5 s without news, so a
    // refusal within 2 s is Redis's invalidation at work.
    await elsewhere.set(`${prefix}session:${owner.sessionId}`, 'revoked', 'EX', 900);

    expect(await within(2000, async () => (await list(owner)).statusCode === 401)).toBe(true);
    expectProblem(await list(owner), 401, 'session-revoked');
  });

  it('should read the grants again once another instance bumps the organization RBAC version', async () => {
    const owner = await registerOwner(app, 'near-rbac');
    expect(await warm(owner)).toBe(true);

    await elsewhere.incr(`${prefix}rbac:version:${owner.organizationId}`);

    const reread = await within(2000, async () => {
      const { writes } = await writesDuring(redis, () => list(owner));
      return about(writes, owner).some((args) =>
        args.some((arg) => arg.endsWith(`rbac:version:${owner.organizationId}`)),
      );
    });
    expect(reread).toBe(true);
  });

  it('should ask Redis again while its tracking connection is cut, and keep copies again once it is back', async () => {
    const owner = await registerOwner(app, 'near-cut');
    expect(await warm(owner)).toBe(true);

    const clients = String(await elsewhere.client('LIST'));
    const id = /id=(\d+) .*name=(\S+)/
      .exec(clients.split('\n').find((line) => line.includes(`name=${prefix}near-cache `)) ?? '')
      ?.at(1);
    expect(id).toBeDefined();
    await elsewhere.client('KILL', 'ID', id!);

    // The cut is seen at once (the socket closes): nothing is served from copies, the session is asked again.
    expect(
      await within(1000, async () => {
        const { writes } = await writesDuring(redis, () => list(owner));
        return about(writes, owner).some((args) => args.some((arg) => arg.endsWith(`session:${owner.sessionId}`)));
      }),
    ).toBe(true);
    // Reconnected and subscribed again (retry after 200 ms): warm again.
    expect(await warm(owner)).toBe(true);
  });

  it('should not keep a value read before a change that Redis reported meanwhile, nor keys it does not track', async () => {
    const near = app.get(NearCache);
    const key = `${prefix}session:near-race-${Date.now()}`;
    const ticket = near.ticket();
    expect(ticket).toBeGreaterThanOrEqual(0);

    await elsewhere.set(key, 'revoked', 'EX', 60);
    expect(await within(2000, () => near.ticket() !== ticket)).toBe(true);
    // A reply read under the old ticket ('active', say) arrives after the invalidation: not kept.
    near.fill(ticket, key, 'active');
    expect(near.get(key)).toBeUndefined();
    near.fill(near.ticket(), key, 'revoked');
    expect(near.get(key)).toBe('revoked');

    // A key outside the tracked prefixes would never be invalidated: never kept.
    near.fill(near.ticket(), `${prefix}rl:untracked`, '1');
    expect(near.get(`${prefix}rl:untracked`)).toBeUndefined();
  });
});
