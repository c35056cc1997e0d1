import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { KeysetPageOptions } from '../../core/pagination/keyset';
import { defineList } from '../../core/pagination/sort';
import type { AuditLogEntry, AuditOutcome, ChainedAuditLog } from './audit-log.entity';

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
const LIST_SELECT = `SELECT ${ENTRY_COLUMNS} FROM "audit_logs" "a" LEFT JOIN "audit_chain_links" "l" ON l.entry_id = a.id`;

/**
 * Reads of audit_logs. Every query of organization data carries `organization_id = :organizationId`, and
 * time bounds go on occurred_at itself (never an expression of it), so PostgreSQL prunes the monthly
 * partitions a range cannot touch. An entry's chain fields come from its link in audit_chain_links (null
 * while it is pending).
 */
@Injectable()
export class AuditLogRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * The filtered, keyset-paged statement of one organization's entries (exposed so tests can EXPLAIN it):
   * SQL assembled from fixed fragments, every value bound, in the shape TypeORM's query builder gave it
   * (same columns, aliases, predicates, order and LIMIT), without building and rewriting a query builder on
   * every request. Fetches limit + 1 rows: the extra one says there is a next page (see applyKeysetPage).
   */
  listStatement(
    organizationId: string,
    filter: AuditLogFilter,
    page: KeysetPageOptions,
  ): { text: string; values: unknown[] } {
    if (page.sort.field !== 'occurredAt') throw new Error(`audit-logs cannot be sorted by ${page.sort.field}`);
    const values: unknown[] = [organizationId];
    let where = 'a.organization_id = $1';
    const and = (predicate: string, value: unknown): void => {
      values.push(value);
      where += ` AND ${predicate}$${values.length}`;
    };
    if (filter.actorId) and('a.actor_id = ', filter.actorId);
    if (filter.action) and('a.action = ', filter.action);
    if (filter.resourceType) and('a.resource_type = ', filter.resourceType);
    if (filter.resourceId) and('a.resource_id = ', filter.resourceId);
    if (filter.outcome) and('a.outcome = ', filter.outcome);
    if (filter.from) and('a.occurred_at >= ', filter.from);
    if (filter.to) and('a.occurred_at < ', filter.to);
    const order = page.direction === 'asc' ? 'ASC' : 'DESC';
    if (page.after) {
      values.push(page.after.value, page.after.id);
      where += ` AND (a.occurred_at, a.id) ${order === 'ASC' ? '>' : '<'} ($${values.length - 1}, $${values.length})`;
    }
    values.push(page.limit + 1);
    return {
      text: `${LIST_SELECT} WHERE ${where} ORDER BY a.occurred_at ${order}, a.id ${order} LIMIT $${values.length}`,
      values,
    };
  }

  /** Raw rows, already shaped as AuditLogEntry: no entity hydration on the list's path. */
  listPage(organizationId: string, filter: AuditLogFilter, page: KeysetPageOptions): Promise<AuditLogEntry[]> {
    const { text, values } = this.listStatement(organizationId, filter, page);
    return this.dataSource.query<AuditLogEntry[]>(text, values);
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
}
