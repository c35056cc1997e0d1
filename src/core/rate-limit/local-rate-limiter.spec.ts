import { LocalRateLimiter } from './local-rate-limiter';

describe(LocalRateLimiter.name, () => {
  let now: number;
  const clock = (): number => now;

  beforeEach(() => {
    now = 1_000_000;
  });

  it('should count hits of one bucket within its window and report the time to reset', () => {
    const limiter = new LocalRateLimiter(10, clock);
    expect(limiter.hit('a', 60_000)).toEqual({ count: 1, msToReset: 60_000 });
    now += 1500;
    expect(limiter.hit('a', 60_000)).toEqual({ count: 2, msToReset: 58_500 });
    expect(limiter.hit('b', 60_000)).toEqual({ count: 1, msToReset: 60_000 });
  });

  it('should start a new window once the old one has ended', () => {
    const limiter = new LocalRateLimiter(10, clock);
    limiter.hit('a', 1000);
    limiter.hit('a', 1000);
    now += 1000;
    expect(limiter.hit('a', 1000)).toEqual({ count: 1, msToReset: 1000 });
  });

  it('should drop expired windows first, then the oldest, when it holds its maximum of buckets', () => {
    const limiter = new LocalRateLimiter(10, clock);
    for (let i = 0; i < 5; i++) limiter.hit(`short-${i}`, 100);
    for (let i = 0; i < 5; i++) limiter.hit(`long-${i}`, 60_000);
    now += 200;
    limiter.hit('new', 60_000);
    // The five expired windows went; the live ones kept their counts.
    expect(limiter.size).toBe(6);
    expect(limiter.hit('long-0', 60_000).count).toBe(2);

    for (let i = 0; i < 4; i++) limiter.hit(`more-${i}`, 60_000);
    expect(limiter.size).toBe(10);
    limiter.hit('overflow', 60_000);
    // Nothing expired: the oldest went, down to 90 % before the new bucket.
    expect(limiter.size).toBe(10);
    expect(limiter.hit('long-0', 60_000).count).toBe(1);
  });

  it('should forget every count when cleared', () => {
    const limiter = new LocalRateLimiter(10, clock);
    limiter.hit('a', 60_000);
    limiter.clear();
    expect(limiter.size).toBe(0);
    expect(limiter.hit('a', 60_000).count).toBe(1);
  });
});
