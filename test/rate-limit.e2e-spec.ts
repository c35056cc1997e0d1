import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApiApp } from '../src/api-app';
import type { RawEnv } from '../src/config/env-var';
import { REDIS } from '../src/core/redis/redis.module';
import { authenticateFromTestHeader, RateLimitProbeModule, TEST_USER_HEADER } from './fixtures/rate-limit-probe.module';
import { bearer, registerOwner } from './helpers/auth';
import { expectProblem } from './helpers/problem';
import { testConfig } from './helpers/test-app';

const BASE = '/api/v1/rate-limit-probe';

/** A key prefix of its own (inside this run's), so each group of tests counts from zero. */
function freshPrefix(): string {
  return `${process.env.REDIS_KEY_PREFIX}rl-spec-${randomUUID().slice(0, 8)}:`;
}

async function startApp(overrides: RawEnv): Promise<NestFastifyApplication> {
  const config = testConfig({
    RATE_LIMIT_WINDOW_SECONDS: '60',
    RATE_LIMIT_MAX: '5',
    RATE_LIMIT_AUTH_MAX: '2',
    ...overrides,
  });
  const app = await createApiApp(config, { extraModules: [RateLimitProbeModule] });
  authenticateFromTestHeader(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

interface Caller {
  ip?: string;
  user?: string;
  forwardedFor?: string;
  method?: 'GET' | 'POST';
}

function call(app: NestFastifyApplication, path: string, caller: Caller = {}): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {};
  if (caller.user) headers[TEST_USER_HEADER] = caller.user;
  if (caller.forwardedFor) headers['x-forwarded-for'] = caller.forwardedFor;
  return app.inject({ method: caller.method ?? 'GET', url: `${BASE}${path}`, headers, remoteAddress: caller.ip });
}

async function callTimes(
  times: number,
  app: NestFastifyApplication,
  path: string,
  caller: Caller = {},
): Promise<LightMyRequestResponse[]> {
  const responses: LightMyRequestResponse[] = [];
  // Sequential on purpose: the remaining counts must come back in order.
  for (let i = 0; i < times; i++) responses.push(await call(app, path, caller));
  return responses;
}

/** Parses `"name";r=2;t=57` (draft-ietf-httpapi-ratelimit-headers). */
function serviceLimit(res: LightMyRequestResponse): { policy: string; remaining: number; reset: number } {
  const match = /^"([^"]+)";r=(\d+);t=(\d+)$/.exec(String(res.headers.ratelimit));
  if (!match) throw new Error(`unexpected RateLimit header: ${String(res.headers.ratelimit)}`);
  return { policy: match[1], remaining: Number(match[2]), reset: Number(match[3]) };
}

function expectRateLimited(res: LightMyRequestResponse): number {
  const body = expectProblem(res, 429, 'rate-limited');
  const retryAfter = String(res.headers['retry-after']);
  expect(retryAfter).toMatch(/^[1-9]\d*$/);
  expect(body.retryAfterSeconds).toBe(Number(retryAfter));
  return Number(retryAfter);
}

describe('Rate limits', () => {
  let app: NestFastifyApplication;
  let prefix: string;

  beforeAll(async () => {
    prefix = freshPrefix();
    app = await startApp({ REDIS_KEY_PREFIX: prefix, TRUST_PROXY: 'false' });
  });

  afterAll(async () => {
    await app.close();
  });

  it('should count down the RateLimit header and answer the 4th request with a 429 problem', async () => {
    const caller = { ip: '198.51.100.1' };
    const allowed = await callTimes(3, app, '/limited', caller);
    for (const res of allowed) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['ratelimit-policy']).toBe('"route";q=3;w=60');
      expect(res.headers['retry-after']).toBeUndefined();
    }
    expect(allowed.map((res) => serviceLimit(res).remaining)).toEqual([2, 1, 0]);
    for (const res of allowed) expect(serviceLimit(res)).toMatchObject({ policy: 'route', reset: expect.any(Number) });
    expect(serviceLimit(allowed[0]).reset).toBeGreaterThan(0);
    expect(serviceLimit(allowed[0]).reset).toBeLessThanOrEqual(60);

    const limited = await call(app, '/limited', caller);
    const retryAfter = expectRateLimited(limited);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers['ratelimit-policy']).toBe('"route";q=3;w=60');
    expect(serviceLimit(limited)).toEqual({ policy: 'route', remaining: 0, reset: retryAfter });
  });

  it('should store the counters in Redis under REDIS_KEY_PREFIX + "rl:", expiring with the window', async () => {
    await call(app, '/limited', { ip: '198.51.100.2' });
    const redis = app.get<Redis>(REDIS);
    // One SCAN call covers only part of the keyspace: walk the cursor to the end.
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}rl:*198.51.100.2`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    expect(keys).toHaveLength(1);
    expect(keys[0]).toContain('/api/v1/rate-limit-probe/limited');
    const ttl = await redis.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('should give each client IP its own bucket', async () => {
    await callTimes(3, app, '/limited', { ip: '198.51.100.3' });
    expectRateLimited(await call(app, '/limited', { ip: '198.51.100.3' }));

    const other = await call(app, '/limited', { ip: '198.51.100.4' });
    expect(other.statusCode).toBe(200);
    expect(serviceLimit(other).remaining).toBe(2);
  });

  it('should count every address of one IPv6 /64 as one client', async () => {
    await callTimes(3, app, '/limited', { ip: '2001:db8:1:2::10' });
    expectRateLimited(await call(app, '/limited', { ip: '2001:db8:1:2:ffff::11' }));
    expect((await call(app, '/limited', { ip: '2001:db8:1:3::10' })).statusCode).toBe(200);
  });

  it('should count per route template, not per URL, and each route separately', async () => {
    const caller = { ip: '198.51.100.5' };
    const responses = await Promise.all(['/items/1', '/items/2', '/items/3'].map((path) => call(app, path, caller)));
    expect(responses.map((res) => res.statusCode)).toEqual([200, 200, 200]);
    expectRateLimited(await call(app, '/items/4', caller));

    expect((await call(app, '/limited', caller)).statusCode).toBe(200);
  });

  it('should ignore a spoofed X-Forwarded-For when no proxy is trusted', async () => {
    const caller = { ip: '198.51.100.6' };
    await callTimes(3, app, '/limited', caller);
    const spoofed = await call(app, '/limited', { ...caller, forwardedFor: '203.0.113.99' });
    expectRateLimited(spoofed);
  });

  it('should apply RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_SECONDS to routes without a decorator', async () => {
    const caller = { ip: '198.51.100.7' };
    const allowed = await callTimes(5, app, '/default', caller);
    expect(allowed.map((res) => res.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(allowed[0].headers['ratelimit-policy']).toBe('"default";q=5;w=60');
    expect(allowed.map((res) => serviceLimit(res).remaining)).toEqual([4, 3, 2, 1, 0]);
    expectRateLimited(await call(app, '/default', caller));
  });

  it('should neither limit nor annotate a @SkipRateLimit route', async () => {
    const responses = await callTimes(8, app, '/skipped', { ip: '198.51.100.8' });
    for (const res of responses) {
      expect(res.statusCode).toBe(200);
      expect(res.headers.ratelimit).toBeUndefined();
      expect(res.headers['ratelimit-policy']).toBeUndefined();
    }
  });

  it('should track an authenticated user across client IPs', async () => {
    await call(app, '/limited', { user: 'user-a', ip: '198.51.100.10' });
    await call(app, '/limited', { user: 'user-a', ip: '198.51.100.11' });
    await call(app, '/limited', { user: 'user-a', ip: '198.51.100.12' });
    expectRateLimited(await call(app, '/limited', { user: 'user-a', ip: '198.51.100.13' }));

    // Neither another user nor an anonymous caller on the same IPs shares that bucket.
    expect((await call(app, '/limited', { user: 'user-b', ip: '198.51.100.13' })).statusCode).toBe(200);
    const anonymous = await call(app, '/limited', { ip: '198.51.100.13' });
    expect(anonymous.statusCode).toBe(200);
    expect(serviceLimit(anonymous).remaining).toBe(2);
  });

  it('should track the user the JWT guard authenticated, which runs before the rate limit', async () => {
    const owner = await registerOwner(app, 'rate-limit');
    const secret = (ip: string): Promise<LightMyRequestResponse> =>
      app.inject({ method: 'GET', url: `${BASE}/private`, headers: bearer(owner.accessToken), remoteAddress: ip });
    const allowed = [await secret('198.51.100.20'), await secret('198.51.100.21'), await secret('198.51.100.22')];
    expect(allowed.map((res) => res.statusCode)).toEqual([200, 200, 200]);
    expect(allowed.map((res) => serviceLimit(res).remaining)).toEqual([2, 1, 0]);
    expectRateLimited(await secret('198.51.100.23'));
  });

  it('should track a key: "ip" route by client IP whoever is logged in', async () => {
    const ip = '198.51.100.14';
    expect((await call(app, '/by-ip', { ip, user: 'user-c' })).statusCode).toBe(200);
    expect((await call(app, '/by-ip', { ip, user: 'user-d' })).statusCode).toBe(200);
    expectRateLimited(await call(app, '/by-ip', { ip, user: 'user-e' }));
  });

  it('should limit an @AuthRateLimit route to RATE_LIMIT_AUTH_MAX per client IP, even across users', async () => {
    const ip = '198.51.100.15';
    const allowed = [
      await call(app, '/auth/login', { method: 'POST', ip }),
      await call(app, '/auth/login', { method: 'POST', ip, user: 'user-f' }),
    ];
    expect(allowed.map((res) => res.statusCode)).toEqual([200, 200]);
    expect(allowed[0].headers['ratelimit-policy']).toBe('"auth";q=2;w=60');
    expect(allowed.map((res) => serviceLimit(res).remaining)).toEqual([1, 0]);
    expectRateLimited(await call(app, '/auth/login', { method: 'POST', ip, user: 'user-g' }));

    expect((await call(app, '/auth/login', { method: 'POST', ip: '198.51.100.16' })).statusCode).toBe(200);
  });

  it('should let a handler override its controller-level @AuthRateLimit', async () => {
    const res = await call(app, '/auth/me', { ip: '198.51.100.17' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['ratelimit-policy']).toBe('"route";q=100;w=60');
  });

  it('should start counting again once the window has passed', async () => {
    const caller = { ip: '198.51.100.18' };
    expect((await call(app, '/short', caller)).statusCode).toBe(200);
    expect(expectRateLimited(await call(app, '/short', caller))).toBe(1);
    await sleep(1100);
    const res = await call(app, '/short', caller);
    expect(res.statusCode).toBe(200);
    expect(serviceLimit(res).remaining).toBe(0);
  });
  it('should document 429 (with its headers) on limited routes and 503 on failClosed routes in OpenAPI', async () => {
    const res = await app.inject('/docs-json');
    expect(res.headers.ratelimit).toBeUndefined();
    const document = res.json<{
      paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>>;
    }>();
    const result = await new Validator().validate(document);
    expect(result.errors).toBeUndefined();

    const limited = document.paths['/api/v1/rate-limit-probe/limited'].get.responses['429'];
    expect(Object.keys(limited.headers ?? {})).toEqual(['Retry-After', 'RateLimit', 'RateLimit-Policy']);
    const login = document.paths['/api/v1/rate-limit-probe/auth/login'].post.responses;
    expect(login).toHaveProperty('429');
    expect(login).not.toHaveProperty('503');
    expect(document.paths['/api/v1/rate-limit-probe/strict'].get.responses).toHaveProperty('503');
    expect(document.paths['/api/v1/rate-limit-probe/skipped'].get.responses).not.toHaveProperty('429');
  });
});

describe('Rate limits across API instances', () => {
  it('should share counts between two instances with the same REDIS_KEY_PREFIX', async () => {
    const prefix = freshPrefix();
    const first = await startApp({ REDIS_KEY_PREFIX: prefix });
    const second = await startApp({ REDIS_KEY_PREFIX: prefix });
    try {
      const caller = { ip: '198.51.100.30' };
      expect(serviceLimit(await call(first, '/limited', caller)).remaining).toBe(2);
      expect(serviceLimit(await call(second, '/limited', caller)).remaining).toBe(1);
      expect(serviceLimit(await call(first, '/limited', caller)).remaining).toBe(0);
      expectRateLimited(await call(second, '/limited', caller));
      expectRateLimited(await call(first, '/limited', caller));
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

describe('Rate limits behind a trusted proxy', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await startApp({ REDIS_KEY_PREFIX: freshPrefix(), TRUST_PROXY: '127.0.0.1' });
  });

  afterAll(async () => {
    await app.close();
  });

  it('should track the client named in X-Forwarded-For by the trusted proxy', async () => {
    const proxy = '127.0.0.1';
    await callTimes(3, app, '/limited', { ip: proxy, forwardedFor: '192.0.2.1' });
    expectRateLimited(await call(app, '/limited', { ip: proxy, forwardedFor: '192.0.2.1' }));

    const otherClient = await call(app, '/limited', { ip: proxy, forwardedFor: '192.0.2.2' });
    expect(otherClient.statusCode).toBe(200);
    expect(serviceLimit(otherClient).remaining).toBe(2);
  });

  it('should ignore X-Forwarded-For from an address that is not a trusted proxy', async () => {
    const caller = { ip: '10.0.0.9' };
    await callTimes(3, app, '/limited', { ...caller, forwardedFor: '192.0.2.3' });
    expectRateLimited(await call(app, '/limited', { ...caller, forwardedFor: '192.0.2.4' }));
  });
});

describe('Rate limits with Redis unreachable', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    // Nothing listens on this port.
    app = await startApp({ REDIS_URL: 'redis://127.0.0.1:6399' });
  });

  afterAll(async () => {
    await app.close();
  });

  it('should count a limited route in this process and answer the 4th request with a 429, quickly', async () => {
    const started = Date.now();
    const caller = { ip: '198.51.100.40' };
    const allowed = await callTimes(3, app, '/limited', caller);
    expect(allowed.map((res) => res.statusCode)).toEqual([200, 200, 200]);
    expect(allowed.map((res) => serviceLimit(res).remaining)).toEqual([2, 1, 0]);
    expect(allowed[0].headers['ratelimit-policy']).toBe('"route";q=3;w=60');
    expectRateLimited(await call(app, '/limited', caller));
    // Another client still has its own bucket.
    expect((await call(app, '/limited', { ip: '198.51.100.43' })).statusCode).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('should keep limiting an @AuthRateLimit route per client IP in this process (logins keep working)', async () => {
    const ip = '198.51.100.41';
    const allowed = [
      await call(app, '/auth/login', { method: 'POST', ip }),
      await call(app, '/auth/login', { method: 'POST', ip }),
    ];
    expect(allowed.map((res) => res.statusCode)).toEqual([200, 200]);
    expectRateLimited(await call(app, '/auth/login', { method: 'POST', ip }));
  });

  it('should refuse a route declared failClosed with a 503 problem', async () => {
    const res = await call(app, '/strict', { ip: '198.51.100.44' });
    expectProblem(res, 503, 'rate-limit-unavailable');
  });

  it('should keep serving @SkipRateLimit routes', async () => {
    expect((await call(app, '/skipped', { ip: '198.51.100.42' })).statusCode).toBe(200);
  });
});
