import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { DataSource, type EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app.config';
import { RepeatingPass } from '../lifecycle/repeating-pass';
import { addJob, isQueueConnected } from './job-envelope';
import { jobOptions, queuePrefix } from './job-outbox';
import { JobOutboxRepository, type OutboxJob } from './job-outbox.repository';
import { ALL_QUEUES } from './queue-names';

/** A row that keeps failing is retried at most this far apart. */
const MAX_BACKOFF_MS = 5 * 60 * 1000;
/** From this many failed hand-overs on, a row is logged as an error: something other than an outage is wrong. */
const STUCK_AFTER_ATTEMPTS = 5;

export interface RelayPass {
  claimed: number;
  relayed: number;
  failed: number;
}

/**
 * Worker side of the outbox: every QUEUE_OUTBOX_RELAY_INTERVAL_MS it claims rows the API did not hand to
 * Redis itself (older than QUEUE_OUTBOX_RELAY_AFTER_MS), adds them to BullMQ and deletes them, all in one
 * transaction. It runs in the worker, not the API: the worker exists for background work and needs Redis
 * anyway, and API instances, which scale with traffic, keep their pool for requests. Any number of workers
 * may run it (FOR UPDATE SKIP LOCKED hands each row to one of them); a row added but not deleted (crash,
 * PostgreSQL gone before the commit) is added again later, which BullMQ dedupes by its job id.
 */
@Injectable()
export class JobOutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobOutboxRelay.name);
  private queues: Map<string, Queue> | undefined;
  private readonly loop = new RepeatingPass(() => this.runPass());
  private waitingForRedis = false;
  private failing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly repository: JobOutboxRepository,
    private readonly moduleRef: ModuleRef,
  ) {}

  onApplicationBootstrap(): void {
    this.loop.start(this.config.queue.outbox.relayIntervalMs);
  }

  /** Before the queues and the data source close (their hooks run later): lets a running pass finish. */
  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass over at most QUEUE_OUTBOX_RELAY_BATCH_SIZE due rows; public for tests. */
  async relayOnce(): Promise<RelayPass> {
    const connected = await this.connectedQueues();
    if (!connected.size) return { claimed: 0, relayed: 0, failed: 0 };
    const { batchSize, relayAfterMs } = this.config.queue.outbox;
    const prefix = queuePrefix([...connected.values()][0]);
    return this.dataSource.transaction(async (manager) => {
      const rows = await this.repository.claim(manager, {
        prefix,
        queues: [...connected.keys()],
        olderThanMs: relayAfterMs,
        limit: batchSize,
      });
      const now = Date.now();
      const results = await Promise.allSettled(
        rows.map((row) => addJob(connected.get(row.queue)!, row.name, row.data, jobOptions(row, now))),
      );
      const relayed: string[] = [];
      for (const [i, result] of results.entries()) {
        if (result.status === 'fulfilled') relayed.push(rows[i].id);
        else await this.recordFailure(rows[i], result.reason, manager);
      }
      await this.repository.deleteMany(relayed, manager);
      if (relayed.length) this.logger.log({ relayed: relayed.length }, 'outbox jobs handed to Redis');
      return { claimed: rows.length, relayed: relayed.length, failed: rows.length - relayed.length };
    });
  }

  /** Passes never overlap: the next one starts when this one ended, at once after a full batch. */
  private async runPass(): Promise<number> {
    let full = false;
    try {
      full = (await this.relayOnce()).claimed >= this.config.queue.outbox.batchSize;
      if (this.failing) this.logger.log('outbox relay passes succeed again');
      this.failing = false;
    } catch (error) {
      // PostgreSQL down, say: the rows are safe where they are; try again next time (logged once, not per pass).
      if (!this.failing) this.logger.warn({ err: error }, 'outbox relay pass failed');
      this.failing = true;
    }
    return full ? 0 : this.config.queue.outbox.relayIntervalMs;
  }

  /** Queues whose Redis answers now; rows of the others wait without counting attempts (an outage is no failure). */
  private async connectedQueues(): Promise<Map<string, Queue>> {
    this.queues ??= new Map(
      ALL_QUEUES.map((name) => [name, this.moduleRef.get<Queue>(getQueueToken(name), { strict: false })]),
    );
    const connected = new Map<string, Queue>();
    for (const [name, queue] of this.queues) if (await isQueueConnected(queue)) connected.set(name, queue);
    if (!connected.size !== this.waitingForRedis) {
      this.waitingForRedis = !connected.size;
      this.logger.log(this.waitingForRedis ? 'outbox relay waits for Redis' : 'outbox relay resumed');
    }
    return connected;
  }

  private async recordFailure(row: OutboxJob, reason: unknown, manager: EntityManager): Promise<void> {
    const attempts = row.attempts + 1;
    const retryInMs = Math.min(this.config.queue.outbox.relayIntervalMs * 2 ** attempts, MAX_BACKOFF_MS);
    const message = reason instanceof Error ? reason.message : String(reason);
    await this.repository.recordFailure(row.id, message, retryInMs, manager);
    const context = {
      queue: row.queue,
      job: row.name,
      jobId: row.jobId,
      attempts,
      ageSeconds: Math.round((Date.now() - new Date(row.createdAt).getTime()) / 1000),
      retryInMs,
      error: message,
    };
    if (attempts >= STUCK_AFTER_ATTEMPTS) this.logger.error(context, 'outbox job stuck: Redis keeps refusing it');
    else this.logger.warn(context, 'outbox job not handed to Redis; retrying');
  }
}
