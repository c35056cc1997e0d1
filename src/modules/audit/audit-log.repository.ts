import { Injectable } from '@nestjs/common';
import { DataSource, type SelectQueryBuilder } from 'typeorm';
import { applyKeysetPage, type KeysetPageOptions } from '../../core/pagination/keyset';
import { defineList } from '../../core/pagination/sort';
import { AuditLog, type AuditOutcome, type ChainedAuditLog } from './audit-log.entity';

/** Served by audit_logs_org_time_idx (organization_id, occurred_at, id) on every partition. */
export const AUDIT_LOG_LIST = defineList({
  scope: 'audit-logs',
  idColumn: 'a.id',
  sorts: [{ field: 'occurredAt', column: 'a.occurredAt', type: 'date' }],
  defaultSort: '-occurredAt',
});

/** A half-open time range [from, to); either end may be open. */
export interface TimeRange {
  from?: Date;
  to?: Date;
}

export interface AuditLogFilter extends TimeRange {
  actorId?: string;
  action?: string;
  resourceType?: string;
  resourceId?: string;
  outcome?: AuditOutcome;
}

/** Where a chain read continues: after this (seq, id). */
export interface ChainPosition {
  seq: number;
  id: string;
}

/**
 * Reads of audit_logs. Every query of organization data carries `organization_id = :organizationId`, and
 * time bounds go on occurred_at itself (never an expression of it), so PostgreSQL prunes the monthly
 * partitions a range cannot touch.
 */
@Injectable()
export class AuditLogRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The filtered, keyset-paged query of one organization's entries (exposed so tests can EXPLAIN it). */
  listQuery(organizationId: string, filter: AuditLogFilter, page: KeysetPageOptions): SelectQueryBuilder<AuditLog> {
    const qb = this.dataSource.manager
      .createQueryBuilder(AuditLog, 'a')
      .where('a.organizationId = :organizationId', { organizationId });
    if (filter.actorId) qb.andWhere('a.actorId = :actorId', { actorId: filter.actorId });
    if (filter.action) qb.andWhere('a.action = :action', { action: filter.action });
    if (filter.resourceType) qb.andWhere('a.resourceType = :resourceType', { resourceType: filter.resourceType });
    if (filter.resourceId) qb.andWhere('a.resourceId = :resourceId', { resourceId: filter.resourceId });
    if (filter.outcome) qb.andWhere('a.outcome = :outcome', { outcome: filter.outcome });
    this.applyRange(qb, filter);
    return applyKeysetPage(qb, page);
  }

  listPage(organizationId: string, filter: AuditLogFilter, page: KeysetPageOptions): Promise<AuditLog[]> {
    return this.listQuery(organizationId, filter, page).getMany();
  }

  /** Without occurred_at every partition's primary key index is probed; a lookup by id stays cheap. */
  findInOrganization(organizationId: string, id: string): Promise<AuditLog | null> {
    return this.dataSource.manager.findOneBy(AuditLog, { id, organizationId });
  }

  /**
   * The next `limit` linked entries of one hash chain in seq order, after `after` (from the start when
   * absent). Pending entries (seq NULL) are not part of the chain yet.
   */
  chainBatch(
    chainKey: string,
    range: TimeRange,
    after: ChainPosition | undefined,
    limit: number,
  ): Promise<ChainedAuditLog[]> {
    const qb = this.dataSource.manager
      .createQueryBuilder(AuditLog, 'a')
      .where('a.chainKey = :chainKey AND a.seq IS NOT NULL', { chainKey });
    this.applyRange(qb, range);
    if (after) qb.andWhere('(a.seq, a.id) > (:afterSeq, :afterId)', { afterSeq: after.seq, afterId: after.id });
    return qb.orderBy('a.seq', 'ASC').addOrderBy('a.id', 'ASC').limit(limit).getMany() as Promise<ChainedAuditLog[]>;
  }

  /** The entries of one chain with fromSeq <= seq <= toSeq, whatever their time (audit_logs_chain_idx). */
  chainSeqRange(chainKey: string, fromSeq: number, toSeq: number): Promise<ChainedAuditLog[]> {
    return this.dataSource.manager
      .createQueryBuilder(AuditLog, 'a')
      .where('a.chainKey = :chainKey AND a.seq BETWEEN :fromSeq AND :toSeq', { chainKey, fromSeq, toSeq })
      .orderBy('a.seq', 'ASC')
      .addOrderBy('a.id', 'ASC')
      .getMany() as Promise<ChainedAuditLog[]>;
  }

  private applyRange(qb: SelectQueryBuilder<AuditLog>, range: TimeRange): void {
    if (range.from) qb.andWhere('a.occurredAt >= :from', { from: range.from });
    if (range.to) qb.andWhere('a.occurredAt < :to', { to: range.to });
  }
}
