import { Column, Entity, PrimaryColumn } from 'typeorm';

export type AuditOutcome = 'success' | 'failure' | 'denied';

/** One append-only audit entry (RANGE-partitioned by month on occurredAt). */
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

  /** Position in the chain; null while the entry is pending (written, not yet linked by the chainer). */
  @Column('bigint', {
    nullable: true,
    transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) },
  })
  seq: number | null;

  @Column('text', { nullable: true })
  prevHash: string | null;

  /** Null while pending, like seq. */
  @Column('text', { nullable: true })
  hash: string | null;
}

/** An entry the chainer has linked: seq and hash set. */
export type ChainedAuditLog = AuditLog & { seq: number; hash: string };
