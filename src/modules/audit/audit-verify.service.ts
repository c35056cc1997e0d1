import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user';
import { AuditChainer } from './audit-chainer';
import { auditHash } from './audit-hash';
import type { ChainedAuditLog } from './audit-log.entity';
import { AuditLogRepository } from './audit-log.repository';
import type { AuditTimeRangeQueryDto, AuditVerifyResultDto, ChainBreakReason } from './audit-query.dto';
import { timeRangeOf } from './audit-query.service';

const VERIFY_BATCH_SIZE = 2000;

/** Why `entry` does not continue the chain after `previous` (the first entry of a range: only its own hash). */
export function brokenLink(previous: ChainedAuditLog | undefined, entry: ChainedAuditLog): ChainBreakReason | null {
  if (previous) {
    // A jump means entries between them were deleted; a repeat or step back, that rows were reordered.
    if (entry.seq !== previous.seq + 1) return 'seq-gap';
    if (entry.prevHash !== previous.hash) return 'prev-hash-mismatch';
  }
  const { hash, ...fields } = entry;
  return auditHash(fields) === hash ? null : 'hash-mismatch';
}

/**
 * Recomputes the caller's organization chain (chain_key = organization id) in seq order over [from, to): each
 * link of audit_chain_links with the entry it points to. The first entry's prev_hash is trusted as the
 * starting point: older entries may be gone by retention. An edited entry or link fails its hash, a deleted
 * link or entry leaves a seq gap.
 *
 * Pending entries are linked first (the chainer runs synchronously for this chain), so an entry written a
 * moment ago is verified rather than reported broken; one committed after that is left out until linked.
 * Chain order is linking order, so an entry whose transaction committed late sits in the chain after entries
 * with later occurred_at, and may fall outside [from, to) while its neighbours in seq are inside: a seq gap
 * whose missing entries exist in the chain is followed through them instead of reported.
 */
@Injectable()
export class AuditVerifyService {
  constructor(
    private readonly auditLogs: AuditLogRepository,
    private readonly chainer: AuditChainer,
  ) {}

  async verify(user: AuthUser, query: AuditTimeRangeQueryDto): Promise<AuditVerifyResultDto> {
    const range = timeRangeOf(query);
    await this.chainer.chain(user.organizationId);
    let previous: ChainedAuditLog | undefined;
    let checked = 0;
    for (;;) {
      const position = previous && { seq: previous.seq, id: previous.id };
      const batch = await this.auditLogs.chainBatch(user.organizationId, range, position, VERIFY_BATCH_SIZE);
      for (const entry of batch) {
        const bridge = previous ? await this.bridge(user.organizationId, previous, entry) : [];
        for (const link of [...bridge, entry]) {
          checked++;
          const reason = brokenLink(previous, link);
          if (reason) {
            return {
              valid: false,
              checked,
              firstBroken: { id: link.id, seq: link.seq, occurredAt: link.occurredAt, reason },
            };
          }
          previous = link;
        }
      }
      if (batch.length < VERIFY_BATCH_SIZE) return { valid: true, checked, firstBroken: null };
    }
  }

  /** The entries between two of the range that are missing from it but present in the chain (late commits). */
  private async bridge(
    chainKey: string,
    previous: ChainedAuditLog,
    entry: ChainedAuditLog,
  ): Promise<ChainedAuditLog[]> {
    if (entry.seq <= previous.seq + 1) return [];
    const between = await this.auditLogs.chainSeqRange(chainKey, previous.seq + 1, entry.seq - 1);
    // Only a complete run bridges the gap; otherwise the gap is real and brokenLink reports it.
    return between.length === entry.seq - previous.seq - 1 ? between : [];
  }
}
