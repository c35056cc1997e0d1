import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { auditHash } from './audit-hash';
import { AuditLog } from './audit-log.entity';

/** Entries linked per transaction: one head lock, one SELECT and one UPDATE per batch. */
export const CHAIN_BATCH_SIZE = 500;

interface ChainHead {
  seq: string;
  hash: string;
}

/**
 * Links pending audit entries (seq NULL: inserted by AuditService in the change's transaction) into their
 * chain. Each batch is one transaction that first locks the chain's head row in audit_chain_heads, then
 * reads the chain's pending entries (oldest occurred_at first), gives them the next seqs and hashes, and
 * moves the head. So:
 * - two chainers (two workers, or a worker and a verify request) never fork a chain: the second waits on
 *   the head lock, and its read, taken after the first commits, no longer sees the entries the first linked;
 * - a chainer that dies mid-batch rolls the whole batch back: the entries stay pending, the head unmoved,
 *   and the next batch links them without a gap;
 * - only committed entries are visible, so an entry whose transaction commits late (older id and
 *   occurred_at than entries already linked) is linked by a later batch, after them. Chain order is the
 *   order of linking (seq), which within a batch is occurred_at order, not necessarily occurred_at order
 *   overall.
 */
@Injectable()
export class AuditChainer {
  constructor(private readonly dataSource: DataSource) {}

  /** The chains that hold pending entries (served by the partial audit_logs_pending_idx). */
  async pendingChains(): Promise<string[]> {
    const rows = await this.dataSource.query<{ chainKey: string }[]>(
      'SELECT DISTINCT chain_key AS "chainKey" FROM audit_logs WHERE seq IS NULL',
    );
    return rows.map((row) => row.chainKey);
  }

  /** Entries of every chain not linked yet. */
  async pendingCount(): Promise<number> {
    const [row] = await this.dataSource.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM audit_logs WHERE seq IS NULL',
    );
    return row.n;
  }

  /** Links every pending entry of every chain; returns how many. */
  async chainAll(maxBatchesPerChain = Infinity): Promise<number> {
    let linked = 0;
    for (const chainKey of await this.pendingChains()) linked += await this.chain(chainKey, maxBatchesPerChain);
    return linked;
  }

  /** Links the pending entries of one chain committed so far, batch after batch; returns how many. */
  async chain(chainKey: string, maxBatches = Infinity): Promise<number> {
    let linked = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const count = await this.chainBatch(chainKey, CHAIN_BATCH_SIZE);
      linked += count;
      if (count < CHAIN_BATCH_SIZE) break;
    }
    return linked;
  }

  /** One transaction: up to `limit` pending entries of the chain linked after its head. */
  chainBatch(chainKey: string, limit: number): Promise<number> {
    return this.dataSource.transaction('READ COMMITTED', async (m) => {
      // Creates the head if missing and locks it (DO UPDATE takes the row lock) until commit.
      const [head] = await m.query<ChainHead[]>(
        `INSERT INTO audit_chain_heads (chain_key, seq, hash) VALUES ($1, 0, '')
         ON CONFLICT (chain_key) DO UPDATE SET seq = audit_chain_heads.seq
         RETURNING seq, hash`,
        [chainKey],
      );
      // A statement after the lock: under READ COMMITTED its snapshot includes what a previous holder linked.
      const pending = await m
        .createQueryBuilder(AuditLog, 'a')
        .where('a.chainKey = :chainKey AND a.seq IS NULL', { chainKey })
        .orderBy('a.occurredAt', 'ASC')
        .addOrderBy('a.id', 'ASC')
        .limit(limit)
        .getMany();
      if (pending.length === 0) return 0;

      let seq = Number(head.seq);
      let prevHash: string | null = seq > 0 ? head.hash : null;
      const linked = pending.map((entry) => {
        seq += 1;
        const fields = { ...entry, seq, prevHash };
        delete (fields as Partial<AuditLog>).hash;
        const hash = auditHash(fields);
        prevHash = hash;
        return { ...fields, hash };
      });
      const [, updated] = await m.query<[unknown[], number]>(
        `UPDATE audit_logs a SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash
           FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::text[], $5::text[])
                AS v(id, occurred_at, seq, prev_hash, hash)
          WHERE a.id = v.id AND a.occurred_at = v.occurred_at AND a.chain_key = $6 AND a.seq IS NULL
            AND a.occurred_at BETWEEN $7 AND $8`,
        [
          linked.map((e) => e.id),
          linked.map((e) => e.occurredAt.toISOString()),
          linked.map((e) => e.seq),
          linked.map((e) => e.prevHash),
          linked.map((e) => e.hash),
          chainKey,
          pending[0].occurredAt.toISOString(),
          pending[pending.length - 1].occurredAt.toISOString(),
        ],
      );
      // Cannot happen under the head lock; if it did, linking part of the batch would leave a gap.
      if (updated !== linked.length) {
        throw new Error(`audit chain ${chainKey}: linked ${updated} of ${linked.length} pending entries`);
      }
      await m.query('UPDATE audit_chain_heads SET seq = $2, hash = $3 WHERE chain_key = $1', [chainKey, seq, prevHash]);
      return linked.length;
    });
  }
}
