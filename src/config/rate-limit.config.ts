import { int } from './env-var';

export const rateLimitEnv = {
  RATE_LIMIT_WINDOW_SECONDS: int({ default: '60', min: 1, max: 3600, description: 'Rate limit window' }),
  RATE_LIMIT_MAX: int({
    default: '300',
    min: 1,
    max: 1000000,
    description: 'Requests per window per route for one user (per client IP when anonymous)',
  }),
  RATE_LIMIT_AUTH_MAX: int({
    default: '10',
    min: 1,
    max: 100000,
    description: 'Requests per window per /auth route for one client IP (login, OTP, refresh…)',
  }),
  RATE_LIMIT_BATCH_MS: int({
    default: '100',
    min: 0,
    max: 1000,
    description:
      'Hits of limits of 40 or more counted in the process and added to Redis every this many ms, exact near the limit (0: every hit in Redis)',
  }),
};
