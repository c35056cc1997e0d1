import type { Redis } from 'ioredis';
import { AppConfig } from '../../config/app.config';
import { RateLimitStorage } from './rate-limit.storage';

function storageWith(redis: Partial<Redis>): RateLimitStorage {
  return new RateLimitStorage(redis as Redis, AppConfig.fromEnv({ NODE_ENV: 'test', REDIS_KEY_PREFIX: 'app:' }));
}

describe(RateLimitStorage.name, () => {
  it('should count with one EVALSHA under the "rl:" key prefix when Redis knows the script', async () => {
    const evalsha = jest.fn().mockResolvedValue([2, 59_000]);
    const evalScript = jest.fn();
    const storage = storageWith({ evalsha, eval: evalScript });

    await expect(storage.hit('GET:/r:ip:192.0.2.1', 60_000)).resolves.toEqual({ count: 2, msToReset: 59_000 });
    expect(evalsha).toHaveBeenCalledWith(
      expect.stringMatching(/^[0-9a-f]{40}$/),
      1,
      'app:rl:GET:/r:ip:192.0.2.1',
      60_000,
      1,
    );
    expect(evalScript).not.toHaveBeenCalled();
  });

  it('should send the script itself when Redis lost its script cache (NOSCRIPT)', async () => {
    const evalsha = jest.fn().mockRejectedValue(new Error('NOSCRIPT No matching script. Please use EVAL.'));
    const evalScript = jest.fn().mockResolvedValue([1, 60_000]);
    const storage = storageWith({ evalsha, eval: evalScript });

    await expect(storage.hit('bucket', 60_000)).resolves.toEqual({ count: 1, msToReset: 60_000 });
    expect(evalScript).toHaveBeenCalledWith(
      expect.stringContaining("redis.call('INCRBY'"),
      1,
      'app:rl:bucket',
      60_000,
      1,
    );
  });

  it('should reject when Redis is unreachable, leaving fail open or closed to the guard', async () => {
    const down = new Error("Stream isn't writeable and enableOfflineQueue options is false");
    const storage = storageWith({ evalsha: jest.fn().mockRejectedValue(down), eval: jest.fn() });

    await expect(storage.hit('bucket', 60_000)).rejects.toBe(down);
  });
});
