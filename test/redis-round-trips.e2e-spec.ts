import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import { REDIS } from '../src/core/redis/redis.module';
import { bearer, registerOwner, type TestAccount } from './helpers/auth';
import { expectProblem } from './helpers/problem';
import { createTestApp } from './helpers/test-app';

/** The commands of a RESP write (arrays of bulk strings, as ioredis sends them), each as its arguments. */
function decodeCommands(chunk: Buffer): string[][] {
  const commands: string[][] = [];
  let at = 0;
  const line = (): string => {
    const end = chunk.indexOf('\r\n', at);
    const text = chunk.toString('latin1', at, end);
    at = end + 2;
    return text;
  };
  while (at < chunk.length) {
    const count = Number(line().slice(1));
    const args: string[] = [];
    for (let i = 0; i < count; i++) {
      const length = Number(line().slice(1));
      args.push(chunk.toString('utf8', at, at + length));
      at += length + 2;
    }
    commands.push(args);
  }
  return commands;
}

/** What the app's shared Redis client writes to its socket while `run` runs: one entry per write. */
async function writesDuring(
  redis: Redis,
  run: () => Promise<LightMyRequestResponse>,
): Promise<{ response: LightMyRequestResponse; writes: string[][][] }> {
  const socket = redis.stream;
  const chunks: Buffer[] = [];
  const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
  socket.write = (chunk: unknown, ...rest: unknown[]) => {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return write(chunk, ...rest);
  };
  try {
    const response = await run();
    return { response, writes: chunks.map(decodeCommands) };
  } finally {
    socket.write = write;
  }
}

describe('Redis round trips of an authenticated request', () => {
  let app: NestFastifyApplication;
  let redis: Redis;
  let owner: TestAccount;

  const list = (account: TestAccount) =>
    app.inject({ method: 'GET', url: '/api/v1/customers?limit=20', headers: bearer(account.accessToken) });
  /** Writes carrying a command about this account: its session, its organization's grants, its counters. */
  const about = (writes: string[][][], account: TestAccount) =>
    writes.filter((commands) =>
      commands.some((args) =>
        args.some((arg) => [account.sessionId, account.organizationId, account.userId].some((id) => arg.includes(id))),
      ),
    );

  beforeAll(async () => {
    app = await createTestApp();
    redis = app.get<Redis>(REDIS);
    owner = await registerOwner(app, 'round-trips');
  });

  afterAll(async () => {
    await app.close();
  });

  it('should send the session, grant and rate-limit lookups of a permission-checked, limited route in one write', async () => {
    // Warm: session state and grants cached, scripts known to Redis.
    expect((await list(owner)).statusCode).toBe(200);

    const { response, writes } = await writesDuring(redis, () => list(owner));

    expect(response.statusCode).toBe(200);
    expect(response.headers.ratelimit).toMatch(/^"default";r=\d+;t=\d+$/);
    const mine = about(writes, owner);
    expect(mine).toHaveLength(1);
    const commands = mine[0].map(([name, ...args]) => `${name.toLowerCase()} ${args.join(' ')}`);
    expect(commands).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^get \\S*session:${owner.sessionId}$`)),
        expect.stringMatching(new RegExp(`^evalsha [0-9a-f]{40} 1 \\S*rbac:version:${owner.organizationId} `)),
        expect.stringMatching(new RegExp(`^evalsha [0-9a-f]{40} 1 \\S*rl:GET:/api/v1/customers:user:${owner.userId} `)),
      ]),
    );
    expect(commands).toHaveLength(3);
  });

  it('should not read the grants for a route that checks no permission', async () => {
    // /auth/me: authenticated only (rate-limited by default): session and counter, in one write.
    const me = () => app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(owner.accessToken) });
    expect((await me()).statusCode).toBe(200);

    const { response, writes } = await writesDuring(redis, me);

    expect(response.statusCode).toBe(200);
    const mine = about(writes, owner);
    expect(mine).toHaveLength(1);
    expect(mine[0].map(([name, , , key]) => `${name.toLowerCase()} ${key ?? ''}`)).toEqual([
      expect.stringMatching(/^get $/),
      expect.stringMatching(new RegExp(`^evalsha \\S*rl:GET:/api/v1/auth/me:user:${owner.userId}$`)),
    ]);
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
      // Started together, in one write; the session answer decided.
      expect(about(writes, other)).toHaveLength(1);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('should answer 429 from the counter started with the session lookup once the limit is reached', async () => {
    const limited = await createTestApp({ RATE_LIMIT_MAX: '2' });
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
