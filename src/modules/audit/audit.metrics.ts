import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../../core/metrics/metrics.service';
import { AuditChainer } from './audit-chainer';
import { AuditPartitionsService } from './audit-partitions.service';

/**
 * On the API's /metrics (the worker serves none), counted at scrape time: `audit_pending_entries` (written,
 * not yet linked into their chain: steady growth means no worker is chaining), and
 * `audit_default_partition_rows` (0 since the default partition was dropped; > 0 only if one was recreated
 * and entries fell into it).
 */
@Injectable()
export class AuditMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly partitions: AuditPartitionsService,
    private readonly chainer: AuditChainer,
  ) {}

  onModuleInit(): void {
    const partitions = this.partitions;
    const chainer = this.chainer;
    new Gauge({
      name: 'audit_pending_entries',
      help: 'Audit entries written but not yet linked into their hash chain by a worker',
      registers: [this.metrics.registry],
      async collect() {
        const pending = await chainer.pendingCount().catch(() => undefined);
        if (pending !== undefined) this.set(pending);
      },
    });
    new Gauge({
      name: 'audit_default_partition_rows',
      help: 'Rows in audit_logs_default (dropped by migration; 0 unless it was recreated and entries fell into it)',
      registers: [this.metrics.registry],
      async collect() {
        // A scrape while PostgreSQL is down reports the rest instead of failing the whole page.
        const rows = await partitions.defaultPartitionRows().catch(() => undefined);
        if (rows !== undefined) this.set(rows);
      },
    });
  }
}
