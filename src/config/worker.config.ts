import { int } from './env-var';

export const workerEnv = {
  WORKER_CONCURRENCY: int({
    default: '5',
    min: 1,
    max: 100,
    description: 'Jobs one worker process runs at once per queue',
  }),
  QUEUE_JOB_LOCK_MS: int({
    default: '30000',
    min: 1000,
    max: 600000,
    description:
      'Lock of a running job on the mail, system, audit and customers queues (renewed at half-time); a worker that dies stops renewing and the job stalls',
  }),
  QUEUE_STALLED_INTERVAL_MS: int({
    default: '30000',
    min: 1000,
    max: 600000,
    description:
      'How often a worker looks for stalled jobs (lock expired) on those queues and moves them back to wait, to run again',
  }),
  QUEUE_ENQUEUE_TIMEOUT_MS: int({
    default: '2000',
    min: 100,
    max: 60000,
    description:
      'Longest the API waits for Redis to accept a job; past it (or at once while Redis is known to be down) a job kept in the outbox is left to the relay, and a mail (not kept there) fails the request with 503 queue-unavailable',
  }),
};
