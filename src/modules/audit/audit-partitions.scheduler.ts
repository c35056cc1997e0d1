import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { JobEnvelope } from '../../core/queue/job-envelope';
import { QueueName } from '../../core/queue/queue-names';
import { AUDIT_PARTITIONS_EVERY_MS, AUDIT_PARTITIONS_SCHEDULER, type AuditJobs } from './audit.jobs';

/**
 * Registers the partition upkeep schedule when the worker starts. An `every` scheduler runs its first job
 * right away, so a fresh deployment gets its months ahead without waiting six hours.
 */
@Injectable()
export class AuditPartitionsScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(AuditPartitionsScheduler.name);

  constructor(@InjectQueue(QueueName.Audit) private readonly queue: Queue) {}

  onApplicationBootstrap(): void {
    // Not awaited: with Redis down the call waits for a reconnect, which must not hold up the worker's start.
    void this.register().catch((error: unknown) => {
      this.logger.error(`could not register the ${AUDIT_PARTITIONS_SCHEDULER} job scheduler: ${String(error)}`);
    });
  }

  async register(): Promise<void> {
    const data: JobEnvelope<AuditJobs['maintain-partitions']> = { payload: {}, requestId: null };
    await this.queue.upsertJobScheduler(
      AUDIT_PARTITIONS_SCHEDULER,
      { every: AUDIT_PARTITIONS_EVERY_MS },
      { name: 'maintain-partitions', data },
    );
  }
}
