import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user';
import { auditHash } from './audit-hash';
import type { AuditLog } from './audit-log.entity';
import { AuditLogRepository } from './audit-log.repository';
import type { AuditTimeRangeQueryDto, AuditVerifyResultDto, ChainBreakReason } from './audit-query.dto';
import { timeRangeOf } from './audit-query.service';

const VERIFY_BATCH_SIZE = 2000;

/** Why `entry` does not continue the chain after `previous` (the first entry of a range: only its own hash). */
export function brokenLink(previous: AuditLog | undefined, entry: AuditLog): ChainBreakReason | null {
  if (previous) {
    // A jump means entries between them were deleted; a repeat or step back, that rows were reordered.
    if (entry.seq !== previous.seq + 1) return 'seq-gap';
    if (entry.prevHash !== previous.hash) return 'prev-hash-mismatch';
  }
  const { hash, ...fields } = entry;
  return auditHash(fields) === hash ? null : 'hash-mismatch';
}

/**
 * Recomputes the caller's organization chain (chain_key = organization id) in seq order over [from, to).
 * The first entry's prev_hash is trusted as the starting point: older entries may be gone by retention.
 */
@Injectable()
export class AuditVerifyService {
  constructor(private readonly auditLogs: AuditLogRepository) {}

  async verify(user: AuthUser, query: AuditTimeRangeQueryDto): Promise<AuditVerifyResultDto> {
    const range = timeRangeOf(query);
    let previous: AuditLog | undefined;
    let checked = 0;
    for (;;) {
      const position = previous && { seq: previous.seq, id: previous.id };
      const batch = await this.auditLogs.chainBatch(user.organizationId, range, position, VERIFY_BATCH_SIZE);
      for (const entry of batch) {
        checked++;
        const reason = brokenLink(previous, entry);
        if (reason) {
          return {
            valid: false,
            checked,
            firstBroken: { id: entry.id, seq: entry.seq, occurredAt: entry.occurredAt, reason },
          };
        }
        previous = entry;
      }
      if (batch.length < VERIFY_BATCH_SIZE) return { valid: true, checked, firstBroken: null };
    }
  }
}
