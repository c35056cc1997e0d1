import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app.config';
import type { AuditPartitionDto, AuditPartitionsDto } from './audit-query.dto';

export interface PartitionMaintenance {
  created: number;
  dropped: number;
  defaultPartitionRows: number;
}

/**
 * Upkeep of audit_logs' monthly partitions through the migrations' SQL functions: months ahead created,
 * months past retention detached and dropped. There is no default partition (migration 1765080000000: it
 * kept the planner from ordered scans), so an entry whose month has no partition would fail: the months
 * ahead are created by the migration, at every start of the API and the worker, and by the scheduled job.
 */
@Injectable()
export class AuditPartitionsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AuditPartitionsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** Not awaited by the start: a database still unreachable then is retried by the scheduled job. */
  onApplicationBootstrap(): void {
    void this.ensureAhead().catch((error: unknown) => {
      this.logger.error(`could not create the audit partitions ahead at start: ${String(error)}`);
    });
  }

  /** Creates the current month and AUDIT_PARTITIONS_AHEAD_MONTHS after it where missing; drops nothing. */
  async ensureAhead(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query("SELECT pg_advisory_xact_lock(hashtextextended('atrium:audit-partitions', 0))");
      const [ensured] = await manager.query<{ created: number }[]>('SELECT audit_ensure_partitions($1) AS created', [
        this.config.audit.partitionsAheadMonths,
      ]);
      return ensured.created;
    });
  }

  async maintain(): Promise<PartitionMaintenance> {
    const { partitionsAheadMonths, retentionMonths } = this.config.audit;
    const { created, dropped } = await this.dataSource.transaction(async (manager) => {
      // Several workers may run the job at once; CREATE TABLE of the same month would fail in all but one.
      await manager.query("SELECT pg_advisory_xact_lock(hashtextextended('atrium:audit-partitions', 0))");
      const [ensured] = await manager.query<{ created: number }[]>('SELECT audit_ensure_partitions($1) AS created', [
        partitionsAheadMonths,
      ]);
      const [removed] = await manager.query<{ dropped: number }[]>(
        'SELECT audit_drop_partitions_before(now() - make_interval(months => $1)) AS dropped',
        [retentionMonths],
      );
      return { created: ensured.created, dropped: removed.dropped };
    });
    const defaultPartitionRows = await this.defaultPartitionRows();
    if (defaultPartitionRows > 0) {
      this.logger.warn(
        `audit_logs_default holds ${defaultPartitionRows} row(s): entries outside every monthly partition`,
      );
    }
    this.logger.log(`audit partitions: ${created} created, ${dropped} dropped`);
    return { created, dropped, defaultPartitionRows };
  }

  /** Rows of audit_logs_default; 0 without one (dropped by migration 1765080000000, unless reverted). */
  async defaultPartitionRows(): Promise<number> {
    const [{ present }] = await this.dataSource.query<{ present: boolean }[]>(
      "SELECT to_regclass('audit_logs_default') IS NOT NULL AS present",
    );
    if (!present) return 0;
    const [row] = await this.dataSource.query<{ rows: number }[]>(
      'SELECT count(*)::int AS rows FROM audit_logs_default',
    );
    return row.rows;
  }

  async overview(): Promise<AuditPartitionsDto> {
    const [partitions, defaultPartitionRows] = await Promise.all([this.list(), this.defaultPartitionRows()]);
    return { partitions, defaultPartitionRows };
  }

  async list(): Promise<AuditPartitionDto[]> {
    const rows = await this.dataSource.query<
      { name: string; from: Date | null; to: Date | null; estimate: number; isDefault: boolean }[]
    >(
      `SELECT name, bound = 'DEFAULT' AS "isDefault", estimate,
              (regexp_match(bound, $re$FROM [(]'([^']+)'[)]$re$))[1]::timestamptz AS "from",
              (regexp_match(bound, $re$TO [(]'([^']+)'[)]$re$))[1]::timestamptz AS "to"
         FROM (SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound, c.reltuples::float8 AS estimate
                 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'audit_logs'::regclass) p
        ORDER BY name`,
    );
    // reltuples is -1 until the first VACUUM/ANALYZE of the partition.
    return rows.map(({ estimate, ...row }) => ({ ...row, estimatedRows: estimate < 0 ? null : Math.round(estimate) }));
  }
}
