import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { auditEntryValues } from '../../src/modules/audit/audit-append.statement';
import { auditHash } from '../../src/modules/audit/audit-hash';
import type { AuditLog, ChainedAuditLog } from '../../src/modules/audit/audit-log.entity';

/*
 * Audit entries inserted with SQL (not through the recording side), already linked into the organization's
 * hash chain exactly as the chainer (AuditChainer) links them: the chain head is locked, each entry gets a row
 * in audit_chain_links whose seq and prev_hash continue the chain, and the hash is `auditHash`, so
 * verification passes until a test tampers with an entry or a link.
 */

export type AuditEntryFixture = Partial<Omit<AuditLog, 'chainKey'>> & {
  occurredAt: Date;
};

/** Appends the entries, in order, to the chain of `organizationId`; returns the stored rows. */
export async function insertAuditEntries(
  db: DataSource,
  organizationId: string,
  fixtures: readonly AuditEntryFixture[],
): Promise<ChainedAuditLog[]> {
  return db.transaction(async (m) => {
    // No default partition: a fixture dated outside the partitions kept ahead needs its month created.
    await m.query('SELECT audit_ensure_partition_for(at) FROM unnest($1::timestamptz[]) AS at', [
      fixtures.map((fixture) => fixture.occurredAt.toISOString()),
    ]);
    await m.query(
      "INSERT INTO audit_chain_heads (chain_key, seq, hash) VALUES ($1, 0, '') ON CONFLICT (chain_key) DO NOTHING",
      [organizationId],
    );
    const [head] = await m.query<{ seq: string; hash: string }[]>(
      'SELECT seq, hash FROM audit_chain_heads WHERE chain_key = $1 FOR UPDATE',
      [organizationId],
    );
    let seq = Number(head.seq);
    let prevHash: string | null = seq > 0 ? head.hash : null;
    const rows: ChainedAuditLog[] = [];
    for (const fixture of fixtures) {
      const fields: Omit<ChainedAuditLog, 'hash'> = {
        id: randomUUID(),
        organizationId,
        actorId: null,
        action: 'fixtures.create',
        resourceType: 'fixture',
        resourceId: null,
        outcome: 'success',
        ip: null,
        userAgent: null,
        requestId: null,
        changes: null,
        details: null,
        ...fixture,
        chainKey: organizationId,
        seq: seq + 1,
        prevHash,
      };
      const row: ChainedAuditLog = { ...fields, hash: auditHash(fields) };
      await m.query(
        `WITH entry AS (
           INSERT INTO audit_logs (id, occurred_at, organization_id, actor_id, action, resource_type, resource_id,
             outcome, ip, user_agent, request_id, changes, details, chain_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         )
         INSERT INTO audit_chain_links (chain_key, seq, entry_id, occurred_at, prev_hash, hash)
         VALUES ($14, $15, $1, $2, $16, $17)`,
        [...auditEntryValues(row), row.seq, row.prevHash, row.hash],
      );
      rows.push(row);
      seq = row.seq;
      prevHash = row.hash;
    }
    await m.query('UPDATE audit_chain_heads SET seq = $2, hash = $3 WHERE chain_key = $1', [
      organizationId,
      seq,
      prevHash,
    ]);
    return rows;
  });
}

/** The first instant of the month `monthsFromNow` months from the current one (UTC, like the partitions). */
export function monthStart(monthsFromNow: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + monthsFromNow, 1));
}

/** The partition that holds `date`, e.g. audit_logs_2026_11. */
export function partitionOf(date: Date): string {
  return `audit_logs_${date.getUTCFullYear()}_${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}
