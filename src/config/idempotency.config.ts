import { int } from './env-var';

export const idempotencyEnv = {
  IDEMPOTENCY_TTL_SECONDS: int({
    default: '86400',
    min: 60,
    max: 2592000,
    description:
      'How long a completed Idempotency-Key is remembered (its response replayed) before it counts as unused again',
  }),
  IDEMPOTENCY_LOCK_SECONDS: int({
    default: '300',
    min: 5,
    max: 86400,
    description:
      'How long an in-progress Idempotency-Key holds off retries (409) if its request never finishes (process crash); keep above HTTP_TIMEOUT_MS',
  }),
};
