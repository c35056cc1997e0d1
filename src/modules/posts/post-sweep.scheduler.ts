import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AppConfig } from '../../config/app.config';
import type { JobEnvelope } from '../../core/queue/job-envelope';
import { QueueName } from '../../core/queue/queue-names';
import {
  POSTS_PARTITIONS_EVERY_MS,
  POSTS_PARTITIONS_SCHEDULER,
  POSTS_SWEEP_SCHEDULER,
  type PostsJobs,
} from './posts.jobs';

/**
 * Registers the posts queue's periodic jobs when the worker starts: the overdue sweep and partition upkeep
 * (same family as the audit partitions job). Upserting is idempotent, so every worker does it.
 */
@Injectable()
export class PostSweepScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(PostSweepScheduler.name);

  constructor(
    @InjectQueue(QueueName.Posts) private readonly queue: Queue,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    // Not awaited: with Redis down the call waits for a reconnect, which must not hold up the worker's start.
    void this.register().catch((error: unknown) => {
      this.logger.error(`could not register the posts job schedulers: ${String(error)}`);
    });
  }

  async register(): Promise<void> {
    const empty: JobEnvelope<Record<string, never>> = { payload: {}, requestId: null };
    const sweep: keyof PostsJobs = 'sweep-due';
    const partitions: keyof PostsJobs = 'maintain-partitions';
    await this.queue.upsertJobScheduler(
      POSTS_SWEEP_SCHEDULER,
      { every: this.config.posts.sweepIntervalSeconds * 1000 },
      { name: sweep, data: empty, opts: { attempts: 1 } },
    );
    await this.queue.upsertJobScheduler(
      POSTS_PARTITIONS_SCHEDULER,
      { every: POSTS_PARTITIONS_EVERY_MS },
      { name: partitions, data: empty },
    );
  }
}
