import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';

/**
 * A Lua script run by its SHA1 (EVALSHA), so each call sends the hash instead of the script text and Redis
 * does not hash the text again per call. Redis forgets its script cache on a restart or failover: on
 * NOSCRIPT the script itself is sent once (EVAL), which caches it again.
 */
export class RedisScript {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
