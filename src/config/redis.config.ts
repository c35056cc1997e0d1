import { bool, int, str, url } from './env-var';

export const redisEnv = {
  REDIS_URL: url({
    default: 'redis://127.0.0.1:6379',
    protocols: ['redis', 'rediss'],
    secret: true,
    description: 'Redis URL used by the cache, queues and rate limits',
  }),
  REDIS_KEY_PREFIX: str({
    default: 'atrium:',
    pattern: /^[A-Za-z0-9:_.-]{1,64}$/,
    patternHint: '1-64 characters of letters, digits, ":", "_", "." or "-"',
    description: 'Prefix of every Redis key this deployment writes (cache, queues), so deployments can share a Redis',
  }),
  REDIS_NEAR_CACHE: bool({
    default: 'true',
    description:
      'Keep session states and grants in each API process, invalidated by Redis client tracking (false: ask Redis on every request)',
  }),
  CACHE_TTL_SECONDS: int({ default: '60', min: 1, max: 86400, description: 'Default cache entry lifetime (seconds)' }),
};
