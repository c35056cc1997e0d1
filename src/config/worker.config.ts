import { int } from './env-var';

export const workerEnv = {
  WORKER_CONCURRENCY: int({
    default: '5',
    min: 1,
    max: 100,
    description: 'Jobs one worker process runs at once per queue',
  }),
};
