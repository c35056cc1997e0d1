import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Queue } from 'bullmq';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { IsNull, type Repository } from 'typeorm';
import { currentContext } from '../../core/context/request-context';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { uuidv7 } from '../../core/database/uuidv7';
import { JobOutbox } from '../../core/queue/job-outbox';
import { QueueName } from '../../core/queue/queue-names';
import { SystemPing } from './system-ping.entity';
import { SystemException, SystemExceptionCode } from './system.exception';
import type { SystemJobs } from './system.jobs';

@Injectable()
export class SystemService {
  constructor(
    @InjectRepository(SystemPing) private readonly pings: Repository<SystemPing>,
    @InjectQueue(QueueName.System) private readonly queue: Queue,
    private readonly tx: TransactionRunner,
    private readonly outbox: JobOutbox,
  ) {}

  /** Records a ping and its job in one transaction; with Redis down the job waits in the outbox. */
  async requestPing(organizationId: string, holdMs: number): Promise<SystemPing> {
    return this.tx.run(async (manager) => {
      const ping = manager.create(SystemPing, {
        id: uuidv7(),
        organizationId,
        status: 'queued',
        requestId: null,
        createdAt: new Date(),
        processedAt: null,
        processedBy: null,
      });
      await manager.insert(SystemPing, ping);
      const payload: SystemJobs['ping'] = { pingId: ping.id, holdMs };
      // jobId = ping id: a retried enqueue can never create a second job for the same ping.
      await this.outbox.enqueue(this.queue, 'ping', payload, { jobId: ping.id });
      return ping;
    });
  }

  /** Another organization's ping is a 404, like a missing one. */
  async getPing(organizationId: string, id: string): Promise<SystemPing> {
    const ping = await this.pings.findOneBy({ id, organizationId });
    if (!ping) throw new SystemException(SystemExceptionCode.PingNotFound, `No ping ${id}.`);
    return ping;
  }

  /** Worker side; a redelivered job finds the ping already processed and changes nothing. */
  async completePing({ pingId, holdMs }: SystemJobs['ping']): Promise<void> {
    if (holdMs > 0) await sleep(holdMs);
    await this.pings.update(
      { id: pingId, processedAt: IsNull() },
      {
        status: 'processed',
        processedAt: new Date(),
        processedBy: `${hostname()}:${process.pid}`,
        requestId: currentContext()?.requestId ?? null,
      },
    );
  }
}
