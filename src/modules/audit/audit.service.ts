import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { currentContext } from '../../core/context/request-context';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { uuidv7 } from '../../core/database/uuidv7';
import { appendAuditEntry } from './audit-append.statement';
import { diffChanges, redactSecrets, type AuditChanges } from './audit-changes';
import type { AuditLog, AuditOutcome } from './audit-log.entity';

/** What a caller knows about an event; the service adds id and time, the chainer its chain link. */
export interface AuditEntry {
  organizationId: string | null;
  actorId: string | null;
  action: string;
  resourceType?: string | null;
  resourceId?: string | null;
  outcome: AuditOutcome;
  /** ip, userAgent, requestId: when left undefined, taken from the current request's context. */
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  /** Changed fields only: build it with diffChanges(before, after). Secrets are redacted again here. */
  changes?: AuditChanges | null;
  details?: Record<string, unknown> | null;
}

/**
 * Appends entries to the audit log, synchronously, in PostgreSQL: never through Redis or the queue, so an
 * outage of either cannot lose an entry, and an entry written in the change's transaction commits with it
 * or not at all. One statement inserts the entry and queues it in audit_pending, taking no shared lock, so
 * audited writes of one organization do not queue behind each other; AuditChainer links it into the
 * organization's hash chain after commit, in audit_chain_links (see there): the entry row is never updated.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(
    private readonly tx: TransactionRunner,
    private readonly dataSource: DataSource,
  ) {}

  /**
   * Records in `manager`'s transaction (the entry commits with the change, or not at all); without one, in
   * the surrounding TransactionRunner transaction if any, else in a transaction of its own.
   */
  record(entry: AuditEntry, manager?: EntityManager): Promise<AuditLog> {
    if (manager) return this.append(entry, manager);
    return this.tx.run((m) => this.append(entry, m));
  }

  /**
   * A change to one resource by the signed-in actor, inside the change's transaction: `changes` holds only
   * the fields that differ between `before` and `after` (null before = created, null after = gone).
   */
  recordChange(
    actor: { id: string; organizationId: string },
    change: {
      action: string;
      resourceType: string;
      resourceId: string;
      before: Record<string, unknown> | null;
      after: Record<string, unknown> | null;
      details?: Record<string, unknown>;
    },
    manager: EntityManager,
  ): Promise<AuditLog> {
    // diffChanges returns JSON-safe, redacted values: append need not copy and redact them a second time.
    return this.append(
      {
        organizationId: actor.organizationId,
        actorId: actor.id,
        action: change.action,
        resourceType: change.resourceType,
        resourceId: change.resourceId,
        outcome: 'success',
        changes: diffChanges(change.before, change.after),
        details: change.details ?? null,
      },
      manager,
      true,
    );
  }

  /**
   * Records in a transaction of its own even inside another one: for denied checks, whose request is about
   * to fail and roll its transaction back.
   */
  recordDetached(entry: AuditEntry): Promise<AuditLog> {
    return this.dataSource.transaction((m) => this.append(entry, m));
  }

  /**
   * For event listeners: never throws (a failed write is logged), and inside a surrounding transaction it
   * writes under a savepoint, so a failed write cannot abort the caller's transaction.
   */
  async recordSafely(entry: AuditEntry): Promise<void> {
    try {
      await this.tx.run((m) => m.transaction((inner) => this.append(entry, inner)));
    } catch (error) {
      this.logger.error({ err: error, action: entry.action }, 'audit entry could not be written');
    }
  }

  /**
   * A denied permission check: written in a transaction of its own (the request is about to fail), and a
   * failed write is logged without replacing the 403. Only the denied path pays for it. Inside a unit of work
   * it is written once that has rolled back and freed its connection: taking a second one while holding the
   * first could wait forever on a pool full of such transactions.
   */
  async recordDenied(
    user: { id: string; organizationId: string },
    permission: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    const entry: AuditEntry = {
      organizationId: user.organizationId,
      actorId: user.id,
      action: 'permission.denied',
      resourceType: permission.split(':')[0] ?? null,
      outcome: 'denied',
      details: { permission, ...details },
    };
    await this.tx.afterEnd(async () => {
      try {
        await this.recordDetached(entry);
      } catch (error) {
        this.logger.error({ err: error, permission }, 'audit entry for a denied check could not be written');
      }
    });
  }

  private async append(entry: AuditEntry, m: EntityManager, changesRedacted = false): Promise<AuditLog> {
    const occurredAt = new Date();
    const context = currentContext();
    const row: AuditLog = {
      id: uuidv7(occurredAt.getTime()),
      occurredAt,
      organizationId: entry.organizationId,
      actorId: entry.actorId,
      action: entry.action,
      resourceType: entry.resourceType ?? null,
      resourceId: entry.resourceId ?? null,
      outcome: entry.outcome,
      ip: entry.ip === undefined ? (context?.ip ?? null) : entry.ip,
      userAgent: entry.userAgent === undefined ? (context?.userAgent ?? null) : entry.userAgent,
      requestId: entry.requestId === undefined ? (context?.requestId ?? null) : entry.requestId,
      changes: entry.changes ? (changesRedacted ? entry.changes : redactSecrets(entry.changes)) : null,
      details: entry.details ? redactSecrets(entry.details) : null,
      chainKey: entry.organizationId ?? 'global',
    };
    await appendAuditEntry(m, row);
    return row;
  }
}
