import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { JobEnvelope } from '../../core/queue/job-envelope';
import { QueueName } from '../../core/queue/queue-names';
import { MEDIA_MAINTAIN_EVERY_MS, MEDIA_MAINTAIN_SCHEDULER, type MediaJobs } from './media.jobs';

/** Registers the media upkeep job when a worker starts (upserting is idempotent, so every worker does it). */
@Injectable()
export class MediaMaintainScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(MediaMaintainScheduler.name);

  constructor(@InjectQueue(QueueName.Media) private readonly queue: Queue) {}

  onApplicationBootstrap(): void {
    // Not awaited: with Redis down the call waits for a reconnect, which must not hold up the worker's start.
    void this.register().catch((error: unknown) => {
      this.logger.error(`could not register the media upkeep job: ${String(error)}`);
    });
  }

  async register(): Promise<void> {
    const name: keyof MediaJobs = 'maintain';
    const data: JobEnvelope<MediaJobs['maintain']> = { payload: {}, requestId: null };
    await this.queue.upsertJobScheduler(
      MEDIA_MAINTAIN_SCHEDULER,
      { every: MEDIA_MAINTAIN_EVERY_MS },
      { name, data, opts: { attempts: 1 } },
    );
  }
}
