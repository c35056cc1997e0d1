import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../core/pagination/page-query.dto';
import type { AuditLogEntry, AuditOutcome } from './audit-log.entity';

export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'denied'];
export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** One audit entry as stored, with the fields of its hash chain (null while pending). */
export class AuditLogDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  id: string;
  occurredAt: Date;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  organizationId: string | null;
  /** The user who acted; null for anonymous requests (e.g. a failed login) and system jobs. */
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  actorId: string | null;
  /** @example customers.update */
  action: string;
  @ApiProperty({ type: String, nullable: true, example: 'customer' })
  resourceType: string | null;
  @ApiProperty({ type: String, nullable: true })
  resourceId: string | null;
  @ApiProperty({ enum: AUDIT_OUTCOMES })
  outcome: AuditOutcome;
  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' })
  ip: string | null;
  @ApiProperty({ type: String, nullable: true })
  userAgent: string | null;
  @ApiProperty({ type: String, nullable: true })
  requestId: string | null;
  /** Before and after of the changed fields only; secrets are redacted. */
  @ApiProperty({
    type: 'object',
    nullable: true,
    properties: {
      before: { type: 'object', additionalProperties: true },
      after: { type: 'object', additionalProperties: true },
    },
  })
  changes: { before: Record<string, unknown>; after: Record<string, unknown> } | null;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true })
  details: Record<string, unknown> | null;
  /**
   * Position in the organization's hash chain; null while the entry is pending: written with its change,
   * linked into the chain by the worker shortly after (normally well under a second). seq, prevHash and hash
   * are the entry's chain link, stored apart from the entry and written once when it is linked.
   */
  @ApiProperty({ type: 'integer', nullable: true })
  seq: number | null;
  /** Hash of the previous entry of the chain (null for the first, and while pending). */
  @ApiProperty({ type: String, nullable: true })
  prevHash: string | null;
  /** SHA-256 over prevHash and this entry's fields, hex; null while pending. */
  @ApiProperty({ type: String, nullable: true })
  hash: string | null;

  static from(entry: AuditLogEntry): AuditLogDto {
    return Object.assign(new AuditLogDto(), {
      id: entry.id,
      occurredAt: entry.occurredAt,
      organizationId: entry.organizationId,
      actorId: entry.actorId,
      action: entry.action,
      resourceType: entry.resourceType,
      resourceId: entry.resourceId,
      outcome: entry.outcome,
      ip: entry.ip,
      userAgent: entry.userAgent,
      requestId: entry.requestId,
      changes: entry.changes,
      details: entry.details,
      seq: entry.seq,
      prevHash: entry.prevHash,
      hash: entry.hash,
    });
  }
}

/** A time window [from, to): `from` inclusive, `to` exclusive, both ISO 8601 timestamps. */
export class AuditTimeRangeQueryDto {
  /**
   * Entries at or after this instant (ISO 8601).
   * @example 2026-11-01T00:00:00Z
   */
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  /**
   * Entries strictly before this instant (ISO 8601).
   * @example 2026-12-01T00:00:00Z
   */
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

export class AuditLogFilterQueryDto extends AuditTimeRangeQueryDto {
  /** Only entries by this user. */
  @IsOptional()
  @IsUUID()
  actorId?: string;

  /**
   * Only this action, exactly.
   * @example customers.update
   */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  action?: string;

  /** @example customer */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  resourceType?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  resourceId?: string;

  @ApiPropertyOptional({ enum: AUDIT_OUTCOMES })
  @IsOptional()
  @IsIn(AUDIT_OUTCOMES)
  outcome?: AuditOutcome;
}

export class ListAuditLogsQueryDto extends IntersectionType(PageQueryDto, AuditLogFilterQueryDto) {}

export class ExportAuditLogsQueryDto extends AuditLogFilterQueryDto {
  @ApiPropertyOptional({ enum: EXPORT_FORMATS, default: 'ndjson' })
  @IsOptional()
  @IsIn(EXPORT_FORMATS)
  format?: ExportFormat;

  /** `occurredAt` (oldest first) or `-occurredAt` (newest first, the default). */
  @ApiPropertyOptional({ enum: ['occurredAt', '-occurredAt'], default: '-occurredAt' })
  @IsOptional()
  @IsString()
  sort?: string;
}

export class AuditLogIdParams {
  @IsUUID()
  id: string;
}

export const CHAIN_BREAK_REASONS = ['hash-mismatch', 'seq-gap', 'prev-hash-mismatch'] as const;
export type ChainBreakReason = (typeof CHAIN_BREAK_REASONS)[number];

/** The first entry whose link does not hold. */
export class ChainBreakDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  id: string;
  @ApiProperty({ type: 'integer' })
  seq: number;
  occurredAt: Date;
  /**
   * hash-mismatch: the entry's content no longer matches its hash (edited); seq-gap: entries before it are
   * missing (deleted) or out of order; prev-hash-mismatch: it does not link to the entry before it.
   */
  @ApiProperty({ enum: CHAIN_BREAK_REASONS })
  reason: ChainBreakReason;
}

export class AuditVerifyResultDto {
  /** Whether every entry in the range links to the one before and matches its own hash. */
  valid: boolean;
  /** Entries checked (up to and including the first broken one). */
  @ApiProperty({ type: 'integer' })
  checked: number;
  @ApiProperty({ type: ChainBreakDto, nullable: true })
  firstBroken: ChainBreakDto | null;
}

export class AuditPartitionDto {
  /** @example audit_logs_2026_11 */
  name: string;
  /** The default partition catches rows outside every monthly range; it should stay empty. */
  isDefault: boolean;
  /** First instant of the partition (null for the default partition). */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  from: Date | null;
  /** Instant after the partition (exclusive; null for the default partition). */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  to: Date | null;
  /** PostgreSQL's estimate (pg_class.reltuples); null before the table was first analyzed. */
  @ApiProperty({ type: 'integer', nullable: true })
  estimatedRows: number | null;
}

export class AuditPartitionsDto {
  @ApiProperty({ type: [AuditPartitionDto] })
  partitions: AuditPartitionDto[];
  /** Exact row count of the default partition: anything here means a month was not created in time. */
  @ApiProperty({ type: 'integer' })
  defaultPartitionRows: number;
}
