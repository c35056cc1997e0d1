import { Injectable } from '@nestjs/common';
import { DataSource, type SelectQueryBuilder } from 'typeorm';
import { applyKeysetPage, type KeysetPageOptions } from '../../core/pagination/keyset';
import { defineList } from '../../core/pagination/sort';
import { AuditLog, type AuditLogEntry, type AuditOutcome, type ChainedAuditLog } from './audit-log.entity';

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

/** The columns of an entry read back with its link, named as AuditLogEntry's properties. */
const ENTRY_SELECT: [column: string, alias: keyof AuditLogEntry][] = [
  ['a.id', 'id'],
  ['a.occurred_at', 'occurredAt'],
  ['a.organization_id', 'organizationId'],
  ['a.actor_id', 'actorId'],
  ['a.action', 'action'],
  ['a.resource_type', 'resourceType'],
  ['a.resource_id', 'resourceId'],
  ['a.outcome', 'outcome'],
  ['a.ip', 'ip'],
  ['a.user_agent', 'userAgent'],
  ['a.request_id', 'requestId'],
  ['a.changes', 'changes'],
  ['a.details', 'details'],
  ['a.chain_key', 'chainKey'],
  // bigint arrives as a string from pg; chains stay far below 2^53, so a JS number is exact.
  ['l.seq::float8', 'seq'],
  ['l.prev_hash', 'prevHash'],
  ['l.hash', 'hash'],
];
const ENTRY_COLUMNS = ENTRY_SELECT.map(([column, alias]) => `${column} AS "${alias}"`).join(', ');

/**
 * Reads of audit_logs. Every query of organization data carries `organization_id = :organizationId`, and
 * time bounds go on occurred_at itself (never an expression of it), so PostgreSQL prunes the monthly
 * partitions a range cannot touch. An entry's chain fields come from its link in audit_chain_links (null
 * while it is pending).
 */
@Injectable()
export class AuditLogRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The filtered, keyset-paged query of one organization's entries (exposed so tests can EXPLAIN it). */
  listQuery(organizationId: string, filter: AuditLogFilter, page: KeysetPageOptions): SelectQueryBuilder<AuditLog> {
    const qb = this.dataSource.manager
      .createQueryBuilder(AuditLog, 'a')
      .select(ENTRY_SELECT[0][0], ENTRY_SELECT[0][1])
      .leftJoin('audit_chain_links', 'l', 'l.entry_id = a.id')
      .where('a.organizationId = :organizationId', { organizationId });
    for (const [column, alias] of ENTRY_SELECT.slice(1)) qb.addSelect(column, alias);
    if (filter.actorId) qb.andWhere('a.actorId = :actorId', { actorId: filter.actorId });
    if (filter.action) qb.andWhere('a.action = :action', { action: filter.action });
    if (filter.resourceType) qb.andWhere('a.resourceType = :resourceType', { resourceType: filter.resourceType });
    if (filter.resourceId) qb.andWhere('a.resourceId = :resourceId', { resourceId: filter.resourceId });
    if (filter.outcome) qb.andWhere('a.outcome = :outcome', { outcome: filter.outcome });
    this.applyRange(qb, filter);
    return applyKeysetPage(qb, page);
  }

  /** Raw rows, already shaped as AuditLogEntry: no entity hydration on the list's path. */
  listPage(organizationId: string, filter: AuditLogFilter, page: KeysetPageOptions): Promise<AuditLogEntry[]> {
    return this.listQuery(organizationId, filter, page).getRawMany<AuditLogEntry>();
  }

  /** Without occurred_at every partition's primary key index is probed; a lookup by id stays cheap. */
  async findInOrganization(organizationId: string, id: string): Promise<AuditLogEntry | null> {
    const [entry] = await this.dataSource.query<AuditLogEntry[]>(
      `SELECT ${ENTRY_COLUMNS} FROM audit_logs a LEFT JOIN audit_chain_links l ON l.entry_id = a.id
        WHERE a.id = $1 AND a.organization_id = $2`,
      [id, organizationId],
    );
    return entry ?? null;
  }

  /**
   * The next `limit` linked entries of one hash chain in seq order, after `after` (from the start when
   * absent), whose occurred_at is in `range`. Pending entries have no link and are not part of the chain yet.
   * The links are read in seq order (primary key) and each joined to its entry's partition.
   */
  chainBatch(
    chainKey: string,
    range: TimeRange,
    after: ChainPosition | undefined,
    limit: number,
  ): Promise<ChainedAuditLog[]> {
    return this.dataSource.query<ChainedAuditLog[]>(
      `SELECT ${ENTRY_COLUMNS}
         FROM audit_chain_links l JOIN audit_logs a ON a.id = l.entry_id AND a.occurred_at = l.occurred_at
        WHERE l.chain_key = $1 AND l.seq > $2
          AND ($3::timestamptz IS NULL OR l.occurred_at >= $3) AND ($4::timestamptz IS NULL OR l.occurred_at < $4)
        ORDER BY l.seq
        LIMIT $5`,
      [chainKey, after?.seq ?? 0, range.from ?? null, range.to ?? null, limit],
    );
  }

  /**
   * The linked entries of one chain with fromSeq <= seq <= toSeq, whatever their time. A link whose entry is
   * gone is left out, so the run comes back short and the caller sees the gap.
   */
  chainSeqRange(chainKey: string, fromSeq: number, toSeq: number): Promise<ChainedAuditLog[]> {
    return this.dataSource.query<ChainedAuditLog[]>(
      `SELECT ${ENTRY_COLUMNS}
         FROM audit_chain_links l JOIN audit_logs a ON a.id = l.entry_id AND a.occurred_at = l.occurred_at
        WHERE l.chain_key = $1 AND l.seq BETWEEN $2 AND $3
        ORDER BY l.seq`,
      [chainKey, fromSeq, toSeq],
    );
  }

  private applyRange(qb: SelectQueryBuilder<AuditLog>, range: TimeRange): void {
    if (range.from) qb.andWhere('a.occurredAt >= :from', { from: range.from });
    if (range.to) qb.andWhere('a.occurredAt < :to', { to: range.to });
  }
}
