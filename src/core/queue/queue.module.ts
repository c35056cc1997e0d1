import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { Global, Logger, Module } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AppConfig } from '../../config/app.config';
import { redisOptionsFromUrl } from '../redis/redis-connection';
import { configureEnqueue } from './job-envelope';
import { JobOutbox } from './job-outbox';
import { JobOutboxRepository } from './job-outbox.repository';
import { ALL_QUEUES } from './queue-names';

const queues = ALL_QUEUES.map((name) => BullModule.registerQueue({ name }));

const QUEUE_ERROR_LISTENERS = Symbol('QUEUE_ERROR_LISTENERS');

/**
 * BullMQ over the shared Redis connection settings, under `${REDIS_KEY_PREFIX}bull`. Registers every queue
 * so the API can enqueue, and the JobOutbox that makes a committed change's job survive a Redis outage;
 * processors live in the feature modules and only the worker app loads them (with JobOutboxRelayModule).
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        connection: redisOptionsFromUrl(config.redis.url),
        prefix: `${config.redis.keyPrefix}bull`,
        defaultJobOptions: {
          attempts: 5,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: 24 * 3600, count: 1000 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      }),
    }),
    ...queues,
  ],
  providers: [
    JobOutbox,
    JobOutboxRepository,
    {
      // Attached as soon as the queues exist: an 'error' event (Redis down) without a listener would be
      // printed raw to stderr by BullMQ, or crash the process.
      provide: QUEUE_ERROR_LISTENERS,
      inject: [AppConfig, ...ALL_QUEUES.map((name) => getQueueToken(name))],
      useFactory: (config: AppConfig, ...instances: Queue[]) => {
        configureEnqueue({ timeoutMs: config.queue.enqueueTimeoutMs });
        const logger = new Logger('Queue');
        for (const queue of instances) {
          let healthy = true;
          queue.on('error', (error) => {
            if (healthy) logger.warn(`queue ${queue.name} unavailable: ${error.message}`);
            healthy = false;
          });
        }
        return true;
      },
    },
  ],
  exports: [...queues, JobOutbox, JobOutboxRepository],
})
export class QueueModule {}
