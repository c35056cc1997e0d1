import { int } from './env-var';

export const queueOutboxEnv = {
  QUEUE_OUTBOX_RELAY_INTERVAL_MS: int({
    default: '1000',
    min: 100,
    max: 60000,
    description:
      'How often each worker process looks for jobs left in the PostgreSQL outbox (committed while Redis was down or slow) and hands them to Redis',
  }),
  QUEUE_OUTBOX_RELAY_BATCH_SIZE: int({
    default: '100',
    min: 1,
    max: 1000,
    description: 'Outbox jobs one relay pass claims at most (a full batch is followed by the next pass at once)',
  }),
  QUEUE_OUTBOX_RELAY_AFTER_MS: int({
    default: '5000',
    min: 0,
    max: 600000,
    description:
      'Age of an outbox job before the relay takes it over from the API that wrote it; keep it above QUEUE_ENQUEUE_TIMEOUT_MS so the two rarely both add it (harmless: the job id dedupes)',
  }),
};
