import { oneOf, int, type RawEnv } from './env-var';

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
};
