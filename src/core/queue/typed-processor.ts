import { WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/app.config';
import { runWithContext } from '../context/request-context';
import type { JobEnvelope } from './job-envelope';

/** The lock manager's options, fixed when BullMQ builds it; rebuilt once the configured values are set. */
interface ConfigurableWorker {
  opts: { autorun?: boolean; lockDuration?: number; lockRenewTime?: number; stalledInterval?: number };
  createLockManager(): void;
  run(): Promise<void>;
}

export interface JobLockSettings {
  /** Lock of a running job, renewed at half-time; a worker that dies stops renewing and the job stalls. */
  lockMs: number;
  /** How often the worker looks for stalled jobs (lock expired) and moves them back to wait. */
  stalledIntervalMs: number;
}

export type JobHandlers<Jobs> = {
  [N in keyof Jobs]: (payload: Jobs[N], job: Job<JobEnvelope<Jobs[N]>>) => Promise<unknown>;
};

/**
 * Base of every processor: a job name maps to one typed handler (thin: it calls a service). The compiler
 * insists every declared job has a handler, and start-up fails if one is missing at run time.
 *
 * Declare processors with `@Processor(queue, { autorun: false })`: lock duration and stalled-check interval
 * come from AppConfig (`lockSettings`, QUEUE_JOB_LOCK_MS / QUEUE_STALLED_INTERVAL_MS by default), which a
 * decorator cannot read, so they are applied here before the worker starts.
 */
export abstract class TypedProcessor<Jobs extends Record<string, unknown>>
  extends WorkerHost
  implements OnModuleInit, OnApplicationBootstrap
{
  protected readonly logger = new Logger(this.constructor.name);
  @Inject(AppConfig) private readonly appConfig: AppConfig;
  protected abstract readonly jobNames: readonly (keyof Jobs & string)[];
  protected abstract readonly handlers: JobHandlers<Jobs>;

  onModuleInit(): void {
    // Own properties only: `toString` or `constructor` must never pass for a handler.
    const missing = this.jobNames.filter((name) => !Object.hasOwn(this.handlers, name));
    if (missing.length) throw new Error(`${this.constructor.name} has no handler for job(s): ${missing.join(', ')}`);
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.appConfig.worker.concurrency;
    const worker = this.worker as unknown as ConfigurableWorker;
    if (worker.opts.autorun !== false) return;
    const { lockMs, stalledIntervalMs } = this.lockSettings(this.appConfig);
    worker.opts.lockDuration = lockMs;
    worker.opts.lockRenewTime = lockMs / 2;
    worker.opts.stalledInterval = stalledIntervalMs;
    worker.createLockManager();
    void worker.run().catch((error: unknown) => this.logger.error(`worker stopped: ${String(error)}`));
  }

  /** Overridden by a queue with settings of its own (posts). */
  protected lockSettings(config: AppConfig): JobLockSettings {
    return { lockMs: config.worker.jobLockMs, stalledIntervalMs: config.worker.stalledIntervalMs };
  }

  async process(job: Job<JobEnvelope<unknown>>): Promise<unknown> {
    const handler = this.handlers[job.name as keyof Jobs] as
      ((payload: unknown, job: Job) => Promise<unknown>) | undefined;
    if (!handler) throw new UnrecoverableError(`no handler for job "${job.name}"`);
    const context = { requestId: job.data.requestId ?? `job-${randomUUID()}`, jobId: job.id, queue: job.queueName };
    return runWithContext(context, async () => {
      this.logger.log(`job ${job.name} started (attempt ${job.attemptsMade + 1})`);
      const result = await handler(job.data.payload, job);
      this.logger.log(`job ${job.name} done`);
      return result;
    });
  }
}
