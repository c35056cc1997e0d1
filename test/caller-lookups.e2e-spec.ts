import type { ExecutionContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { HIT_PART, toHit } from '../src/core/rate-limit/rate-limit.storage';
import {
  assemble,
  CallerLookups,
  type Caller,
  type LookupCall,
  type LookupPart,
} from '../src/core/redis/caller-lookups';
import { SESSION_STATE_PART } from '../src/modules/auth/sessions/session-state.store';
import { GRANTS_READ_PART } from '../src/modules/rbac/decision/grant.store';

// The per-request script of an authenticated request, against the real Redis: the session part (the JWT
// guard's), the grants read and the rate-limit counter, as CallerLookups assembles them.

const context = { getType: () => 'http' } as unknown as ExecutionContext;

interface Recorded {
  replies: Array<Promise<unknown>>;
}

/** A registered lookup that includes `part` when `wanted()` and records the replies it receives. */
function lookup(part: LookupPart, call: (caller: Caller) => LookupCall, wanted = () => true) {
  const recorded: Recorded = { replies: [] };
  return {
    recorded,
    lookup: {
      part,
      plan: (caller: Caller) => (wanted() ? call(caller) : null),
      started: (reply: Promise<unknown>) => {
        reply.catch(() => undefined);
        recorded.replies.push(reply);
      },
    },
  };
}

describe(CallerLookups.name, () => {
  const prefix = `test-lookups-${randomUUID()}:`;
  let redis: Redis;
  const caller: Caller = { userId: 'u1', organizationId: 'o1', sessionId: 's1' };
  const sessionCall = (c: Caller) => ({ keys: [`${prefix}session:${c.sessionId}`], args: [] });
  const grantsCall = (c: Caller) => ({
    keys: [`${prefix}rbac:version:${c.organizationId}`],
    args: [`${prefix}rbac:grants:${c.organizationId}:`, c.userId],
  });
  const hitCall = (c: Caller) => ({ keys: [`${prefix}rl:GET:/r:user:${c.userId}`], args: [60_000, 1] });

  beforeAll(() => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, enableOfflineQueue: true, lazyConnect: false });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  });

  afterAll(async () => {
    await redis.quit();
  });

  function lookups(...registered: Array<ReturnType<typeof lookup>['lookup']>): CallerLookups {
    const all = new CallerLookups(redis);
    for (const one of registered) all.register(one);
    return all;
  }

  it('should answer the session, the grants and the counter with one EVALSHA', async () => {
    await redis.set(`${prefix}session:s1`, 'active');
    await redis.set(`${prefix}rbac:version:o1`, '7');
    await redis.set(`${prefix}rbac:grants:o1:7:u1`, '[{"pattern":"customers:read"}]');
    const grants = lookup(GRANTS_READ_PART, grantsCall);
    const counter = lookup(HIT_PART, hitCall);
    const all = lookups(grants.lookup, counter.lookup);
    // Warm: the assembled script known to Redis.
    await all.start(caller, context, SESSION_STATE_PART, sessionCall(caller));
    const evalsha = jest.spyOn(redis, 'evalsha');
    const get = jest.spyOn(redis, 'get');

    const session = await all.start(caller, context, SESSION_STATE_PART, sessionCall(caller));

    expect(session).toBe('active');
    await expect(grants.recorded.replies[1]).resolves.toEqual(['7', '[{"pattern":"customers:read"}]']);
    expect(toHit(await counter.recorded.replies[1])).toEqual({ count: 2, msToReset: expect.any(Number) });
    expect(evalsha).toHaveBeenCalledTimes(1);
    expect(evalsha.mock.calls[0].slice(1, 5)).toEqual([
      3,
      `${prefix}session:s1`,
      `${prefix}rbac:version:o1`,
      `${prefix}rl:GET:/r:user:u1`,
    ]);
    expect(get).not.toHaveBeenCalled();
  });

  it('should still count the request when the session is revoked (the JWT guard refuses it afterwards)', async () => {
    await redis.set(`${prefix}session:s1`, 'revoked');
    const counter = lookup(HIT_PART, hitCall);
    const all = lookups(counter.lookup);

    await expect(all.start(caller, context, SESSION_STATE_PART, sessionCall(caller))).resolves.toBe('revoked');
    expect(toHit(await counter.recorded.replies[0]).count).toBe(1);
  });

  it('should report a count past the limit with the time left in the window', async () => {
    await redis.set(`${prefix}rl:GET:/r:user:u1`, '300', 'PX', 42_000);
    const counter = lookup(HIT_PART, hitCall);

    await lookups(counter.lookup).start(caller, context, SESSION_STATE_PART, sessionCall(caller));

    const hit = toHit(await counter.recorded.replies[0]);
    expect(hit.count).toBe(301);
    expect(hit.msToReset).toBeGreaterThan(40_000);
    expect(hit.msToReset).toBeLessThanOrEqual(42_000);
  });

  it('should give the counter a window when it starts one', async () => {
    const counter = lookup(HIT_PART, hitCall);
    await lookups(counter.lookup).start(caller, context, SESSION_STATE_PART, sessionCall(caller));
    expect(await redis.pttl(`${prefix}rl:GET:/r:user:u1`)).toBeGreaterThan(59_000);
  });

  it('should keep every reply in its place when the session and the grants are not cached', async () => {
    const grants = lookup(GRANTS_READ_PART, grantsCall);
    const counter = lookup(HIT_PART, hitCall);

    const session = await lookups(grants.lookup, counter.lookup).start(
      caller,
      context,
      SESSION_STATE_PART,
      sessionCall(caller),
    );

    // Missing values are nulls, not an array cut short: the counter's reply is still there.
    expect(session).toBeNull();
    await expect(grants.recorded.replies[0]).resolves.toEqual(['0', null]);
    expect(toHit(await counter.recorded.replies[0]).count).toBe(1);
  });

  it('should leave out the lookups a route does not need', async () => {
    const grants = lookup(GRANTS_READ_PART, grantsCall, () => false);
    const counter = lookup(HIT_PART, hitCall);
    const evalsha = jest.spyOn(redis, 'evalsha');

    await lookups(grants.lookup, counter.lookup).start(caller, context, SESSION_STATE_PART, sessionCall(caller));

    expect(grants.recorded.replies).toEqual([]);
    expect(counter.recorded.replies).toHaveLength(1);
    expect(evalsha.mock.calls[0].slice(1, 4)).toEqual([2, `${prefix}session:s1`, `${prefix}rl:GET:/r:user:u1`]);
  });

  it('should send a plain GET for the session when no other lookup joins it (no script)', async () => {
    await redis.set(`${prefix}session:s1`, 'active');
    const grants = lookup(GRANTS_READ_PART, grantsCall, () => false);
    const evalsha = jest.spyOn(redis, 'evalsha');
    const get = jest.spyOn(redis, 'get');

    await expect(lookups(grants.lookup).start(caller, context, SESSION_STATE_PART, sessionCall(caller))).resolves.toBe(
      'active',
    );

    expect(get).toHaveBeenCalledWith(`${prefix}session:s1`);
    expect(evalsha).not.toHaveBeenCalled();
  });

  it('should send the script itself once when Redis does not know it yet (NOSCRIPT), then its SHA', async () => {
    // A part no other test has sent: its script is new to this Redis.
    const fresh: LookupPart = { lua: `-- ${randomUUID()}\nreturn ARGV[1]`, keys: 0, args: 1 };
    const echo = lookup(fresh, () => ({ keys: [], args: ['hello'] }));
    const all = lookups(echo.lookup);
    const evalScript = jest.spyOn(redis, 'eval');

    await all.start(caller, context, SESSION_STATE_PART, sessionCall(caller));
    await all.start(caller, context, SESSION_STATE_PART, sessionCall(caller));

    await expect(echo.recorded.replies[0]).resolves.toBe('hello');
    await expect(echo.recorded.replies[1]).resolves.toBe('hello');
    expect(evalScript).toHaveBeenCalledTimes(1);
  });

  it('should send the scripts of requests started in one event-loop turn in one socket write', async () => {
    await redis.set(`${prefix}session:s1`, 'active');
    await redis.set(`${prefix}session:s2`, 'revoked');
    const all = lookups(lookup(HIT_PART, hitCall).lookup);
    await all.start(caller, context, SESSION_STATE_PART, sessionCall(caller));
    const stream = redis.stream as typeof redis.stream & { _writev: (...args: unknown[]) => void };
    const writev = jest.spyOn(stream, '_writev');

    const other = { ...caller, sessionId: 's2' };
    const first = all.start(caller, context, SESSION_STATE_PART, sessionCall(caller));
    const second = all.start(other, context, SESSION_STATE_PART, sessionCall(other));
    expect(stream.writableCorked).toBe(1);

    await expect(Promise.all([first, second])).resolves.toEqual(['active', 'revoked']);
    expect(stream.writableCorked).toBe(0);
    expect(writev).toHaveBeenCalledTimes(1);
    expect((writev.mock.calls[0][0] as unknown[]).length).toBe(2);
  });

  it('should reject every reply, and leave none unhandled, when Redis does not answer', async () => {
    const down = new Redis({ host: '127.0.0.1', port: 6399, enableOfflineQueue: false, lazyConnect: true });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const grants = lookup(GRANTS_READ_PART, grantsCall);
      const counter = lookup(HIT_PART, hitCall);
      const all = new CallerLookups(down);
      all.register(grants.lookup);
      all.register(counter.lookup);

      await expect(all.start(caller, context, SESSION_STATE_PART, sessionCall(caller))).rejects.toThrow();
      await expect(grants.recorded.replies[0]).rejects.toThrow();
      await expect(counter.recorded.replies[0]).rejects.toThrow();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
      down.disconnect();
    }
    expect(unhandled).toEqual([]);
  });
});

describe(assemble.name, () => {
  it('should give each part its own keys and arguments, and turn a nil reply into false', () => {
    const script = assemble([
      { lua: 'return KEYS[1]', keys: 1, args: 0 },
      { lua: 'return ARGV[2]', keys: 2, args: 2 },
    ]);
    expect(script).toContain('end)({KEYS[1]}, {})');
    expect(script).toContain('end)({KEYS[2], KEYS[3]}, {ARGV[1], ARGV[2]})');
    expect(script).toContain('if replies[2] == nil then replies[2] = false end');
  });
});
