import { Column, Entity, PrimaryColumn } from 'typeorm';

export type AuditOutcome = 'success' | 'failure' | 'denied';

/**
 * One append-only audit entry (RANGE-partitioned by month on occurredAt), written once: its chain position
 * lives in audit_chain_links.
 */
@Entity('audit_logs')
export class AuditLog {
  @PrimaryColumn('uuid')
  id: string;

  @PrimaryColumn({ type: 'timestamptz', precision: 3 })
  occurredAt: Date;

  @Column('uuid', { nullable: true })
  organizationId: string | null;

  @Column('uuid', { nullable: true })
  actorId: string | null;

  /** `<resource>.<verb>`, e.g. customers.update, auth.login.failed. */
  @Column('text')
  action: string;

  @Column('text', { nullable: true })
  resourceType: string | null;

  @Column('text', { nullable: true })
  resourceId: string | null;

  @Column('text')
  outcome: AuditOutcome;

  @Column('text', { nullable: true })
  ip: string | null;

  @Column('text', { nullable: true })
  userAgent: string | null;

  @Column('text', { nullable: true })
  requestId: string | null;

  /** `{ before: {...}, after: {...} }` of the changed fields only, secrets redacted. */
  @Column('jsonb', { nullable: true })
  changes: { before: Record<string, unknown>; after: Record<string, unknown> } | null;

  @Column('jsonb', { nullable: true })
  details: Record<string, unknown> | null;

  /** The hash chain this entry belongs to: the organization id, or 'global'. */
  @Column('text')
  chainKey: string;
}

/**
 * An entry's place in its hash chain, kept in audit_chain_links (written once by the chainer, never updated);
 * all null while the entry is pending (written, not yet linked).
 */
export interface ChainLink {
  seq: number | null;
  prevHash: string | null;
  hash: string | null;
}

/** An entry as read back: its row and its link. */
export type AuditLogEntry = AuditLog & ChainLink;

/** An entry the chainer has linked: seq and hash set. */
export type ChainedAuditLog = AuditLog & { seq: number; prevHash: string | null; hash: string };
