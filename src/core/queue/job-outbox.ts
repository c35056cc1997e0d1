import { Injectable, Logger } from '@nestjs/common';
import type { JobsOptions, Queue } from 'bullmq';
import { TransactionRunner } from '../database/transaction.runner';
import { uuidv7 } from '../database/uuidv7';
import { addJob, envelope, isQueueConnected } from './job-envelope';
import { JobOutboxRepository, type OutboxJob } from './job-outbox.repository';

/** The BullMQ prefix a queue writes under; outbox rows are addressed to it. */
export function queuePrefix(queue: Queue): string {
  return queue.opts.prefix ?? 'bull';
}

/** BullMQ options for a row, now: a delayed job keeps its run time however late it is handed over. */
export function jobOptions(job: Pick<OutboxJob, 'jobId' | 'options' | 'runAt'>, now = Date.now()): JobsOptions {
  const options: JobsOptions = { ...job.options, jobId: job.jobId };
  if (job.runAt) options.delay = Math.max(0, new Date(job.runAt).getTime() - now);
  return options;
}

/**
 * Transactional outbox in front of BullMQ: `enqueue` writes the job into `job_outbox` in the caller's
 * transaction (so a rollback leaves no job and a commit cannot lose it) and, once committed, adds it to
 * BullMQ at once and deletes the row. When Redis is down or slow the row stays, and the worker's
 * JobOutboxRelay adds it when Redis is back. Delivery is at least once: a job may be added twice (deduped by
 * its jobId while BullMQ keeps it), so handlers stay idempotent as they are for BullMQ's own retries.
 */
@Injectable()
export class JobOutbox {
  private readonly logger = new Logger(JobOutbox.name);

  constructor(
    private readonly tx: TransactionRunner,
    private readonly repository: JobOutboxRepository,
  ) {}

  /**
   * Call inside the transaction that makes the change the job is for (outside one it gets its own). Never
   * fails because of Redis. Without `options.jobId` the job id derives from the row id, so the relay can add
   * it again without creating a second job. Resolves to the job id.
   */
  async enqueue<P>(queue: Queue, name: string, payload: P, options: JobsOptions = {}): Promise<string> {
    const { jobId, delay, ...rest } = options;
    const id = uuidv7();
    const job: Omit<OutboxJob, 'createdAt' | 'attempts'> = {
      id,
      prefix: queuePrefix(queue),
      queue: queue.name,
      name,
      jobId: jobId ?? `outbox-${id}`,
      data: envelope(payload),
      options: rest,
      runAt: delay ? new Date(Date.now() + delay) : null,
    };
    await this.tx.run(async (manager) => {
      await this.repository.insert(job, manager);
      await this.tx.afterCommit(() => this.handOver(queue, job));
    });
    return job.jobId;
  }

  /** The fast path, right after the commit. Never throws: whatever it cannot do is the relay's. */
  private async handOver(queue: Queue, job: Omit<OutboxJob, 'createdAt' | 'attempts'>): Promise<void> {
    // Redis known to be down: no waiting at all, the request returns and the relay delivers later.
    if (!(await isQueueConnected(queue))) return;
    try {
      await addJob(queue, job.name, job.data, jobOptions(job));
    } catch (error) {
      this.logger.warn({ err: error, queue: queue.name, jobId: job.jobId }, 'job left in the outbox for the relay');
      return;
    }
    // Only costs a duplicate add by the relay if it fails (deduped by jobId).
    await this.repository
      .deleteUnlessClaimed(job.id)
      .catch((error: unknown) => this.logger.warn({ err: error, jobId: job.jobId }, 'outbox row not deleted'));
  }
}
