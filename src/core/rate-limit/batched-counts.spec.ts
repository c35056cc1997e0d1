import { BatchedCounts, MAX_SLACK, slackOf, type BatchedLimit } from './batched-counts';
import type { RateLimitHit } from './rate-limit.storage';

/** A Redis counter in memory, with its window, as the HIT script keeps it. */
function fakeRedis(now: () => number) {
  const counters = new Map<string, { count: number; resetAt: number }>();
  const sent: Array<{ bucket: string; hits: number }> = [];
  let failing = false;
  const send = (bucket: string, hits: number, windowMs: number): Promise<RateLimitHit> => {
    sent.push({ bucket, hits });
    if (failing) return Promise.reject(new Error('Redis is down'));
    let counter = counters.get(bucket);
    if (!counter || counter.resetAt <= now()) counters.set(bucket, (counter = { count: 0, resetAt: now() + windowMs }));
    counter.count += hits;
    return Promise.resolve({ count: counter.count, msToReset: counter.resetAt - now() });
  };
  return {
    send,
    sent,
    count: (bucket: string) => counters.get(bucket)?.count ?? 0,
    fail: () => (failing = true),
  };
}

describe('BatchedCounts', () => {
  let clock: number;
  const now = () => clock;
  const limit: BatchedLimit = { max: 300, windowMs: 60_000, slack: slackOf(300) };

  beforeEach(() => {
    clock = 1_000_000;
  });

  /** One request as the guard counts it: here when it may, else in Redis with the held-back hits. */
  async function request(counts: BatchedCounts, redis: ReturnType<typeof fakeRedis>, bucket: string, l = limit) {
    const local = counts.hit(bucket, l);
    if (local) return { ...local, local: true };
    const sent = counts.take(bucket);
    const hit = await redis.send(bucket, sent, l.windowMs);
    counts.counted(bucket, l, hit, sent);
    return { ...hit, local: false };
  }

  it('should give a twentieth of the limit as slack, at most MAX_SLACK, and none to limits below 40', () => {
    expect(slackOf(300)).toBe(15);
    expect(slackOf(40)).toBe(2);
    expect(slackOf(39)).toBe(0);
    expect(slackOf(10)).toBe(0);
    expect(slackOf(1_000_000)).toBe(MAX_SLACK);
  });

  it('should count the first hit of a bucket in Redis, then locally with exact counts for one instance', async () => {
    const redis = fakeRedis(now);
    const counts = new BatchedCounts(100, redis.send, now);

    const first = await request(counts, redis, 'b');
    expect(first).toEqual({ count: 1, msToReset: 60_000, local: false });
    const next = [await request(counts, redis, 'b'), await request(counts, redis, 'b')];
    expect(next.map((hit) => [hit.count, hit.local])).toEqual([
      [2, true],
      [3, true],
    ]);
    // Held back, not yet in Redis; a flush adds them.
    expect(redis.count('b')).toBe(1);
    await counts.flush();
    expect(redis.count('b')).toBe(3);
    expect(redis.sent).toEqual([
      { bucket: 'b', hits: 1 },
      { bucket: 'b', hits: 2 },
    ]);
    expect((await request(counts, redis, 'b')).count).toBe(4);
  });

  it('should send the held-back hits with the hit once slack hits are held back', async () => {
    const redis = fakeRedis(now);
    const counts = new BatchedCounts(100, redis.send, now);
    await request(counts, redis, 'b');
    const results = [];
    for (let i = 0; i < limit.slack; i++) results.push(await request(counts, redis, 'b'));

    // slack - 1 hits held back, then the slack-th goes to Redis with them.
    expect(results.filter((hit) => hit.local)).toHaveLength(limit.slack - 1);
    expect(results.at(-1)).toMatchObject({ count: limit.slack + 1, local: false });
    expect(redis.count('b')).toBe(limit.slack + 1);
    expect(redis.sent.at(-1)).toEqual({ bucket: 'b', hits: limit.slack });
  });

  it('should count every hit in Redis within slack of the limit, and refuse exactly past it', async () => {
    const redis = fakeRedis(now);
    const counts = new BatchedCounts(100, redis.send, now);
    const small: BatchedLimit = { max: 40, windowMs: 60_000, slack: slackOf(40) };
    const results = [];
    for (let i = 0; i < 45; i++) {
      results.push(await request(counts, redis, 'b', small));
      if (i % 5 === 0) await counts.flush();
    }

    expect(results.map((hit) => hit.count)).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
    // From max - slack + 1 on, every hit is counted in Redis.
    expect(results.slice(small.max - small.slack).every((hit) => !hit.local)).toBe(true);
    expect(results.some((hit) => hit.local)).toBe(true);
    expect(redis.count('b')).toBe(45);
  });

  it('should count the last stretch of a window in Redis and drop the hits held back from an ended window', async () => {
    const redis = fakeRedis(now);
    const counts = new BatchedCounts(100, redis.send, now);
    await request(counts, redis, 'b');
    expect((await request(counts, redis, 'b')).local).toBe(true);

    clock += 60_000 - 100;
    expect(counts.hit('b', limit)).toBeNull();

    clock += 200;
    // The window is over: the one held-back hit is not sent into the next window.
    expect(counts.take('b')).toBe(1);
    const hit = await redis.send('b', 1, limit.windowMs);
    counts.counted('b', limit, hit, 1);
    expect(hit.count).toBe(1);
    expect(counts.hit('b', limit)).toMatchObject({ count: 2 });
  });

  it('should start a new window from its own count, not the old window larger one', async () => {
    const redis = fakeRedis(now);
    const counts = new BatchedCounts(100, redis.send, now);
    for (let i = 0; i < 20; i++) await request(counts, redis, 'b');
    await counts.flush();
    clock += 61_000;
    await counts.flush();
    expect(counts.size).toBe(0);

    expect(await request(counts, redis, 'b')).toMatchObject({ count: 1, local: false });
    expect(await request(counts, redis, 'b')).toMatchObject({ count: 2, local: true });
  });

  it('should count in its estimate the hits already sent whose reply has not come back', async () => {
    const redis = fakeRedis(now);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const counts = new BatchedCounts(
      100,
      (bucket, hits, windowMs) => gate.then(() => redis.send(bucket, hits, windowMs)),
      now,
    );
    const first = counts.take('b');
    release();
    counts.counted('b', limit, await redis.send('b', first, limit.windowMs), first);
    counts.hit('b', limit);
    counts.hit('b', limit);

    const release2 = counts.flush();
    // Two hits in flight: the next local count still includes them.
    expect(counts.hit('b', limit)?.count).toBe(4);
    await release2;
    expect(redis.count('b')).toBe(3);
    expect(counts.hit('b', limit)?.count).toBe(5);
  });

  it('should forget a bucket whose batch Redis did not take, so that its next hit asks Redis', async () => {
    const redis = fakeRedis(now);
    const counts = new BatchedCounts(100, redis.send, now);
    await request(counts, redis, 'b');
    counts.hit('b', limit);
    redis.fail();
    await counts.flush();
    expect(counts.hit('b', limit)).toBeNull();
  });

  it('should never hold back hits of a limit without slack or with batching off', async () => {
    const redis = fakeRedis(now);
    const none: BatchedLimit = { max: 10, windowMs: 60_000, slack: 0 };
    const counts = new BatchedCounts(100, redis.send, now);
    const off = new BatchedCounts(0, redis.send, now);
    for (let i = 0; i < 3; i++) {
      expect((await request(counts, redis, 'small', none)).local).toBe(false);
      expect((await request(off, redis, 'off')).local).toBe(false);
    }
    expect(counts.size + off.size).toBe(0);
  });
});
