import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { queuePrefix } from '../queue/job-outbox';
import { JobOutboxRepository } from '../queue/job-outbox.repository';
import { ALL_QUEUES, QueueName } from '../queue/queue-names';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/** Prometheus metrics of this process, in a registry of its own (several apps may share a test process). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor(moduleRef: ModuleRef) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'queue_jobs',
      help: 'Jobs per queue and state (read from Redis at scrape time)',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        for (const name of ALL_QUEUES) {
          const queue = moduleRef.get<Queue>(getQueueToken(name), { strict: false });
          // A scrape while Redis is down reports what it can instead of failing the whole page.
          const counts = await queue.getJobCounts(...QUEUE_STATES).catch(() => undefined);
          if (!counts) continue;
          for (const state of QUEUE_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
        }
      },
    });
    // Jobs committed while Redis was down or slow wait here; a row that stays old means the relay is stuck.
    const outbox = () => moduleRef.get(JobOutboxRepository, { strict: false });
    const prefix = () => queuePrefix(moduleRef.get<Queue>(getQueueToken(QueueName.System), { strict: false }));
    new Gauge({
      name: 'job_outbox_jobs',
      help: 'Jobs in the PostgreSQL outbox not yet handed to Redis (read at scrape time)',
      registers: [this.registry],
      async collect() {
        const backlog = await outbox()
          .backlog(prefix())
          .catch(() => undefined);
        if (backlog) this.set(backlog.rows);
      },
    });
    new Gauge({
      name: 'job_outbox_oldest_age_seconds',
      help: 'Age of the oldest job in the PostgreSQL outbox (0 when empty; read at scrape time)',
      registers: [this.registry],
      async collect() {
        const backlog = await outbox()
          .backlog(prefix())
          .catch(() => undefined);
        if (backlog) this.set(backlog.oldestAgeSeconds);
      },
    });
  }
}
