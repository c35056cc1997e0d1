import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { auditHash } from './audit-hash';
import type { AuditLog } from './audit-log.entity';

/** Entries linked per transaction: one head lock, one read and one write statement per batch. */
export const CHAIN_BATCH_SIZE = 500;

interface ChainHead {
  seq: string;
  hash: string;
}

/** The columns of a pending entry as AuditLog (jsonb and timestamptz arrive parsed). */
const ENTRY_COLUMNS = `a.id, a.occurred_at AS "occurredAt", a.organization_id AS "organizationId", a.actor_id AS "actorId",
  a.action, a.resource_type AS "resourceType", a.resource_id AS "resourceId", a.outcome, a.ip,
  a.user_agent AS "userAgent", a.request_id AS "requestId", a.changes, a.details, a.chain_key AS "chainKey"`;

/**
 * The oldest `$2` pending entries of chain `$1`. The batch is cut from the queue's primary key first and only
 * then joined to the entries (each probe reads one partition's primary key: the join carries occurred_at).
 * Joined before the LIMIT, the planner may join and sort the whole backlog for every batch: after a burst
 * (or with statistics taken while the queue was empty) each batch of 500 cost ~0.5 s per 200,000 pending.
 */
export const PENDING_BATCH_SQL = `SELECT ${ENTRY_COLUMNS}
   FROM (SELECT occurred_at, entry_id
           FROM audit_pending
          WHERE chain_key = $1
          ORDER BY occurred_at, entry_id
          LIMIT $2) p
   JOIN audit_logs a ON a.id = p.entry_id AND a.occurred_at = p.occurred_at
  ORDER BY p.occurred_at, p.entry_id`;

/**
 * Links pending audit entries (queued in audit_pending by AuditService in the change's transaction) into
 * their chain: a link row in audit_chain_links per entry, the entry itself is never updated. Each batch is one
 * transaction that first locks the chain's head row in audit_chain_heads, then reads the chain's queued
 * entries (oldest occurred_at first), inserts their links with the next seqs and hashes, takes them off the
 * queue, and moves the head. So:
 * - two chainers (two workers, or a worker and a verify request) never fork a chain: the second waits on
 *   the head lock, and its read, taken after the first commits, no longer sees the entries the first linked
 *   (and audit_chain_links' unique keys would reject a second link of an entry or of a position);
 * - a chainer that dies mid-batch rolls the whole batch back: the entries stay queued, the head unmoved,
 *   and the next batch links them without a gap;
 * - only committed queue rows are visible, so an entry whose transaction commits late (older id and
 *   occurred_at than entries already linked) is linked by a later batch, after them. Chain order is the
 *   order of linking (seq), which within a batch is occurred_at order, not necessarily occurred_at order
 *   overall.
 */
@Injectable()
export class AuditChainer {
  constructor(private readonly dataSource: DataSource) {}

  /** The chains that hold pending entries (the leading column of audit_pending's key). */
  async pendingChains(): Promise<string[]> {
    const rows = await this.dataSource.query<{ chainKey: string }[]>(
      'SELECT DISTINCT chain_key AS "chainKey" FROM audit_pending',
    );
    return rows.map((row) => row.chainKey);
  }

  /** Entries of every chain not linked yet. */
  async pendingCount(): Promise<number> {
    const [row] = await this.dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM audit_pending');
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

  /** One transaction (READ COMMITTED, the connections' default): up to `limit` pending entries linked after the head. */
  chainBatch(chainKey: string, limit: number): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      // Creates the head if missing and locks it (DO UPDATE takes the row lock) until commit.
      const [head] = await m.query<ChainHead[]>(
        `INSERT INTO audit_chain_heads (chain_key, seq, hash) VALUES ($1, 0, '')
         ON CONFLICT (chain_key) DO UPDATE SET seq = audit_chain_heads.seq
         RETURNING seq, hash`,
        [chainKey],
      );
      // A statement after the lock: under READ COMMITTED its snapshot includes what a previous holder linked.
      const pending = await m.query<AuditLog[]>(PENDING_BATCH_SQL, [chainKey, limit]);
      if (pending.length === 0) return 0;

      let seq = Number(head.seq);
      let prevHash: string | null = seq > 0 ? head.hash : null;
      const linked = pending.map((entry) => {
        seq += 1;
        const hash = auditHash({ ...entry, seq, prevHash });
        const link = { id: entry.id, occurredAt: entry.occurredAt, seq, prevHash, hash };
        prevHash = hash;
        return link;
      });
      // One statement: the links in, the entries off the queue, the head moved. All or nothing.
      const [{ dequeued }] = await m.query<{ dequeued: number }[]>(
        `WITH v AS (
           SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::text[], $5::text[])
                      AS v(id, occurred_at, seq, prev_hash, hash)
         ), links AS (
           INSERT INTO audit_chain_links (chain_key, seq, entry_id, occurred_at, prev_hash, hash)
           SELECT $6, seq, id, occurred_at, prev_hash, hash FROM v
         ), dequeued AS (
           DELETE FROM audit_pending p USING v
            WHERE p.chain_key = $6 AND p.occurred_at = v.occurred_at AND p.entry_id = v.id
           RETURNING 1
         ), head AS (
           UPDATE audit_chain_heads SET seq = $7, hash = $8 WHERE chain_key = $6
         )
         SELECT count(*)::int AS dequeued FROM dequeued`,
        [
          linked.map((e) => e.id),
          linked.map((e) => e.occurredAt.toISOString()),
          linked.map((e) => e.seq),
          linked.map((e) => e.prevHash),
          linked.map((e) => e.hash),
          chainKey,
          seq,
          prevHash,
        ],
      );
      // Cannot happen under the head lock; if it did, the batch rolls back rather than link an entry twice.
      if (dequeued !== linked.length) {
        throw new Error(`audit chain ${chainKey}: dequeued ${dequeued} of ${linked.length} pending entries`);
      }
      return linked.length;
    });
  }
}
