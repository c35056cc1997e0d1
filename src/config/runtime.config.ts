import { oneOf, int, type RawEnv } from './env-var';

/**
 * What the entry points set UV_THREADPOOL_SIZE to when the environment does not (src/config/uv-threadpool.ts):
 * libuv's own 4 threads are few for a server's async fs, dns.lookup and zlib work.
 */
export const DEFAULT_UV_THREADPOOL_SIZE = 8;

export const runtimeEnv = {
  NODE_ENV: oneOf(['development', 'test', 'production'] as const, {
    default: 'development',
    description: 'Runtime mode; production refuses insecure defaults (generated keys, wildcard CORS, dev secrets)',
  }),
  SHUTDOWN_TIMEOUT_MS: int({
    default: '15000',
    min: 1000,
    max: 600000,
    description: 'Grace period on SIGTERM for in-flight requests and jobs before the process is forced to exit',
  }),
  SHUTDOWN_READINESS_DELAY_MS: int({
    default: (env: RawEnv) => (env.NODE_ENV === 'production' ? '5000' : '0'),
    min: 0,
    max: 60000,
    description: 'After SIGTERM, how long /health/ready reports 503 before the server stops accepting connections',
  }),
  UV_THREADPOOL_SIZE: int({
    default: String(DEFAULT_UV_THREADPOOL_SIZE),
    min: 1,
    max: 1024,
    description:
      'libuv thread pool size (async fs, dns.lookup, zlib); libuv reads it from the environment at its first use, so the API and worker entry points set this default when it is unset',
  }),
};
