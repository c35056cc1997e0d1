import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { auditHash } from '../../src/modules/audit/audit-hash';
import { AuditChainer } from '../../src/modules/audit/audit-chainer';
import type { ChainedAuditLog } from '../../src/modules/audit/audit-log.entity';

/**
 * The audit entries of a chain (organization id or 'global'), in chain order, read with plain SQL. Entries
 * are written pending and linked by the worker's chainer; it is run here first, as the worker would within
 * ~200 ms, so every entry written so far is linked. An entry still pending would come last with seq null and
 * fail firstBrokenLink. seq, prevHash and hash come from the entry's link in audit_chain_links.
 */
export async function auditEntries(app: NestFastifyApplication, chainKey: string): Promise<ChainedAuditLog[]> {
  await app.get(AuditChainer).chain(chainKey);
  const rows = await app.get(DataSource).query<Record<string, unknown>[]>(
    `SELECT a.id, a.occurred_at AS "occurredAt", a.organization_id AS "organizationId", a.actor_id AS "actorId",
            a.action, a.resource_type AS "resourceType", a.resource_id AS "resourceId", a.outcome, a.ip,
            a.user_agent AS "userAgent", a.request_id AS "requestId", a.changes, a.details, a.chain_key AS "chainKey",
            l.seq::int AS seq, l.prev_hash AS "prevHash", l.hash
       FROM audit_logs a LEFT JOIN audit_chain_links l ON l.entry_id = a.id
      WHERE a.chain_key = $1 ORDER BY l.seq NULLS LAST`,
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
