import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { auditHash } from '../../src/modules/audit/audit-hash';
import { AuditChainer } from '../../src/modules/audit/audit-chainer';
import type { ChainedAuditLog } from '../../src/modules/audit/audit-log.entity';

/**
 * The audit entries of a chain (organization id or 'global'), in chain order, read with plain SQL. Entries
 * are written pending and linked by the worker's chainer; it is run here first, as the worker would within
 * ~200 ms, so every entry written so far is linked. An entry still pending would come last with seq null and
 * fail firstBrokenLink.
 */
export async function auditEntries(app: NestFastifyApplication, chainKey: string): Promise<ChainedAuditLog[]> {
  await app.get(AuditChainer).chain(chainKey);
  const rows = await app.get(DataSource).query<Record<string, unknown>[]>(
    `SELECT id, occurred_at AS "occurredAt", organization_id AS "organizationId", actor_id AS "actorId", action,
            resource_type AS "resourceType", resource_id AS "resourceId", outcome, ip, user_agent AS "userAgent",
            request_id AS "requestId", changes, details, chain_key AS "chainKey", seq::int AS seq,
            prev_hash AS "prevHash", hash
       FROM audit_logs WHERE chain_key = $1 ORDER BY seq`,
    [chainKey],
  );
  return rows as unknown as ChainedAuditLog[];
}

/** The first entry whose seq or hash does not follow from its predecessor, or null for an intact chain. */
export function firstBrokenLink(entries: ChainedAuditLog[]): { seq: number; why: string } | null {
  let previous: ChainedAuditLog | null = null;
  for (const entry of entries) {
    const expectedSeq = previous ? previous.seq + 1 : 1;
    if (entry.seq !== expectedSeq) return { seq: entry.seq, why: `seq ${entry.seq}, expected ${expectedSeq}` };
    if (entry.prevHash !== (previous?.hash ?? null)) return { seq: entry.seq, why: 'prevHash' };
    const { hash, ...fields } = entry;
    if (auditHash(fields) !== hash) return { seq: entry.seq, why: 'hash' };
    previous = entry;
  }
  return null;
}
