import { int } from './env-var';

export const postsEnv = {
  POSTS_SWEEP_INTERVAL_SECONDS: int({
    default: '60',
    min: 1,
    max: 3600,
    description:
      'How often the worker publishes scheduled posts whose publish_at has passed without their job firing (a job lost with Redis)',
  }),
  POSTS_SWEEP_BATCH_SIZE: int({
    default: '500',
    min: 1,
    max: 10000,
    description: 'Overdue scheduled posts one sweep publishes at most; the next sweep takes the rest',
  }),
  POSTS_PARTITIONS_AHEAD_QUARTERS: int({
    default: '2',
    min: 1,
    max: 20,
    description: 'Quarterly posts partitions the worker keeps created ahead of the current quarter',
  }),
  POSTS_JOB_LOCK_MS: int({
    default: '30000',
    min: 1000,
    max: 600000,
    description:
      'Lock of a running posts job (renewed at half-time); a worker that dies stops renewing and the job stalls',
  }),
  POSTS_STALLED_INTERVAL_MS: int({
    default: '30000',
    min: 1000,
    max: 600000,
    description: 'How often a posts worker looks for stalled jobs (lock expired) and moves them back to wait',
  }),
};
