import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../../core/metrics/metrics.service';
import { AuditPartitionsService } from './audit-partitions.service';

/**
 * `audit_default_partition_rows` on the API's /metrics (the worker serves none), counted at scrape time:
 * an alert on it > 0 says a month's partition was missing when entries arrived.
 */
@Injectable()
export class AuditMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly partitions: AuditPartitionsService,
  ) {}

  onModuleInit(): void {
    const partitions = this.partitions;
    new Gauge({
      name: 'audit_default_partition_rows',
      help: 'Rows in audit_logs_default (entries outside every monthly partition; should be 0)',
      registers: [this.metrics.registry],
      async collect() {
        // A scrape while PostgreSQL is down reports the rest instead of failing the whole page.
        const rows = await partitions.defaultPartitionRows().catch(() => undefined);
        if (rows !== undefined) this.set(rows);
      },
    });
  }
}
