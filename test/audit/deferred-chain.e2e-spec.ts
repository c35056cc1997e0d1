import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { AuditChainer, CHAIN_BATCH_SIZE, PENDING_BATCH_SQL } from '../../src/modules/audit/audit-chainer';
import { AuditService, type AuditEntry } from '../../src/modules/audit/audit.service';
import { auditEntries, firstBrokenLink } from '../helpers/audit';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { createTestApp, createTestWorker } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';

/*
 * Entries are written pending in the change's transaction and linked afterwards by AuditChainer. Other spec
 * files of the same run may start workers whose chain loop links any chain at any moment, so these tests
 * never depend on who links an entry, only on the chain that results.
 */
describe(AuditChainer.name, () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let audit: AuditService;

  beforeAll(async () => {
    app = await createTestApp();
    db = app.get(DataSource);
    audit = app.get(AuditService);
  });

  afterAll(async () => {
    await app.close();
  });

  const entry = (owner: TestAccount, action: string): AuditEntry => ({
    organizationId: owner.organizationId,
    actorId: owner.userId,
    action,
    resourceType: 'fixture',
    outcome: 'success',
  });

  const head = async (chainKey: string) =>
    (
      await db.query<{ seq: number; hash: string }[]>(
        'SELECT seq::int AS seq, hash FROM audit_chain_heads WHERE chain_key = $1',
        [chainKey],
      )
    )[0];

  const pendingCount = async (chainKey: string) =>
    (
      await db.query<{ n: number }[]>('SELECT count(*)::int AS n FROM audit_pending WHERE chain_key = $1', [chainKey])
    )[0].n;

  /** Writes `n` pending entries in one transaction (fast), returning nothing: the chain is read afterwards. */
  const writePending = (owner: TestAccount, n: number, action: string) =>
    db.transaction(async (m) => {
      for (let i = 0; i < n; i++) await audit.record(entry(owner, `${action}.${i}`), m);
    });

  it('should write an audited change while the chain head is locked (no shared lock on the request path)', async () => {
    const owner = await registerOwner(app, 'deferred-nolock');
    await app.get(AuditChainer).chain(owner.organizationId);
    const locker = db.createQueryRunner();
    await locker.connect();
    await locker.startTransaction();
    try {
      await locker.query('SELECT 1 FROM audit_chain_heads WHERE chain_key = $1 FOR UPDATE', [owner.organizationId]);
      // Before the change every audited write took this row lock and would wait here until the test timed out.
      const res = await Promise.race([
        app.inject({
          method: 'PATCH',
          url: '/api/v1/organizations/current',
          headers: bearer(owner.accessToken),
          payload: { name: 'Renamed while the head is locked' },
        }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('blocked on the chain head')), 5000)),
      ]);
      expect(res.statusCode).toBe(200);
      const [written] = await db.query<{ queued: boolean; linked: boolean }[]>(
        `SELECT EXISTS (SELECT 1 FROM audit_pending p WHERE p.entry_id = a.id) AS queued,
                EXISTS (SELECT 1 FROM audit_chain_links l WHERE l.entry_id = a.id) AS linked
           FROM audit_logs a WHERE a.chain_key = $1 AND a.action = 'organizations.update'`,
        [owner.organizationId],
      );
      // Committed, and not linked: nobody can link it while the head is locked.
      expect(written).toEqual({ queued: true, linked: false });
    } finally {
      await locker.rollbackTransaction();
      await locker.release();
    }
    const chain = await auditEntries(app, owner.organizationId);
    expect(chain.find((e) => e.action === 'organizations.update')?.seq).toEqual(expect.any(Number));
    expect(firstBrokenLink(chain)).toBeNull();
  });

  it('should link concurrent audited writes of one organization into one gap-free chain', async () => {
    const owner = await registerOwner(app, 'deferred-concurrent');
    await Promise.all(Array.from({ length: 40 }, (_, i) => audit.record(entry(owner, `concurrent.${i}`))));
    const chain = await auditEntries(app, owner.organizationId);
    expect(chain.filter((e) => e.action.startsWith('concurrent.'))).toHaveLength(40);
    expect(chain.map((e) => e.seq)).toEqual(chain.map((_, i) => i + 1));
    expect(firstBrokenLink(chain)).toBeNull();
    expect(await head(owner.organizationId)).toEqual({ seq: chain.length, hash: chain.at(-1)?.hash });
  });

  it('should link an entry whose transaction commits late after the entries already linked', async () => {
    const owner = await registerOwner(app, 'deferred-late');
    let commit!: () => void;
    const released = new Promise<void>((resolve) => (commit = resolve));
    let lateWritten!: () => void;
    const written = new Promise<void>((resolve) => (lateWritten = resolve));
    const late = db.transaction(async (m) => {
      await audit.record(entry(owner, 'late.commit'), m);
      lateWritten();
      await released;
    });
    await written;
    for (const action of ['early.a', 'early.b', 'early.c']) await audit.record(entry(owner, action));
    const before = await auditEntries(app, owner.organizationId);
    expect(before.map((e) => e.action)).not.toContain('late.commit');
    commit();
    await late;

    const chain = await auditEntries(app, owner.organizationId);
    const lateEntry = chain.find((e) => e.action === 'late.commit');
    const early = chain.filter((e) => e.action.startsWith('early.'));
    // Older than the entries before it in the chain: chain order is linking order, not occurred_at order.
    expect(lateEntry?.seq).toBeGreaterThan(Math.max(...early.map((e) => e.seq)));
    expect(lateEntry?.occurredAt.getTime()).toBeLessThanOrEqual(Math.min(...early.map((e) => e.occurredAt.getTime())));
    expect(firstBrokenLink(chain)).toBeNull();

    // A window starting after the late entry's occurred_at holds its neighbours in seq but not it: verification
    // follows the chain through it instead of reporting a gap.
    const from = new Date(lateEntry!.occurredAt.getTime() + 1).toISOString();
    const res = await app.inject({
      url: `/api/v1/audit-logs/verify?from=${from}`,
      headers: bearer(owner.accessToken),
    });
    expect(res.json()).toMatchObject({ valid: true, firstBroken: null });
  });

  it('should join only the batch to the entries, whatever plan the queue gets', async () => {
    const owner = await registerOwner(app, 'deferred-backlog');
    await writePending(owner, 1_000, 'backlog');
    interface PlanNode {
      'Node Type': string;
      'Relation Name'?: string;
      'Actual Rows': number;
      'Actual Loops': number;
      Plans?: PlanNode[];
    }
    const plan = await db.transaction(async (m) => {
      // The plan of a planner that misjudges the queue (statistics taken while it was nearly empty): no index.
      await m.query('SET LOCAL enable_indexscan = off');
      await m.query('SET LOCAL enable_indexonlyscan = off');
      await m.query('SET LOCAL enable_bitmapscan = off');
      const [row] = await m.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${PENDING_BATCH_SQL}`,
        [owner.organizationId, 100],
      );
      return row['QUERY PLAN'][0].Plan;
    });
    const readsQueue = (node: PlanNode): boolean =>
      node['Relation Name'] === 'audit_pending' || (node.Plans ?? []).some(readsQueue);
    /** The rows the queue's side hands to the join with audit_logs. */
    const queueSideOfJoin = (node: PlanNode): PlanNode | undefined => {
      if (/Join|Nested Loop/.test(node['Node Type'])) return node.Plans?.find(readsQueue);
      for (const child of node.Plans ?? []) {
        const found = queueSideOfJoin(child);
        if (found) return found;
      }
      return undefined;
    };
    const side = queueSideOfJoin(plan);
    expect(side).toBeDefined();
    expect(side!['Actual Rows'] * side!['Actual Loops']).toBeLessThanOrEqual(100);
    expect(await app.get(AuditChainer).chain(owner.organizationId)).toBeGreaterThanOrEqual(1_000);
  });

  it('should keep one chain when two chainers link the same pending entries at once', async () => {
    const owner = await registerOwner(app, 'deferred-two-chainers');
    const n = 2 * CHAIN_BATCH_SIZE + 100;
    await writePending(owner, n, 'two-chainers');
    // Two instances on separate connections, as two worker processes would be.
    const [a, b] = await Promise.all([
      new AuditChainer(db).chain(owner.organizationId),
      new AuditChainer(db).chain(owner.organizationId),
    ]);
    expect(a + b).toBeLessThanOrEqual(n + 10);
    const chain = await auditEntries(app, owner.organizationId);
    expect(chain.filter((e) => e.action.startsWith('two-chainers.'))).toHaveLength(n);
    expect(new Set(chain.map((e) => e.seq)).size).toBe(chain.length);
    expect(chain.map((e) => e.seq)).toEqual(chain.map((_, i) => i + 1));
    expect(firstBrokenLink(chain)).toBeNull();
  });

  it('should leave no gap when the chainer is killed in the middle of a batch', async () => {
    const owner = await registerOwner(app, 'deferred-killed');
    await app.get(AuditChainer).chain(owner.organizationId);
    const headBefore = await head(owner.organizationId);
    await writePending(owner, 30, 'killed');
    // The batch's entries are updated, then moving the head kills the backend: a worker dying mid-batch.
    const trigger = `audit_chain_heads_kill_${owner.organizationId.replace(/-/g, '')}`;
    await db.query(`
      CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.chain_key = '${owner.organizationId}' AND NEW.seq <> OLD.seq THEN
          PERFORM pg_terminate_backend(pg_backend_pid());
          PERFORM pg_sleep(5);
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(
      `CREATE TRIGGER ${trigger} BEFORE UPDATE ON audit_chain_heads FOR EACH ROW EXECUTE FUNCTION ${trigger}()`,
    );
    try {
      await expect(app.get(AuditChainer).chain(owner.organizationId)).rejects.toThrow();
      expect(await pendingCount(owner.organizationId)).toBe(30);
      expect(await head(owner.organizationId)).toEqual(headBefore);
    } finally {
      await db.query(`DROP TRIGGER ${trigger} ON audit_chain_heads`);
      await db.query(`DROP FUNCTION ${trigger}()`);
    }
    const chain = await auditEntries(app, owner.organizationId);
    expect(chain.filter((e) => e.action.startsWith('killed.'))).toHaveLength(30);
    expect(chain.map((e) => e.seq)).toEqual(chain.map((_, i) => i + 1));
    expect(firstBrokenLink(chain)).toBeNull();
  });

  it('should report only linked entries in a verification, linking pending ones first', async () => {
    const owner = await registerOwner(app, 'deferred-verify');
    await writePending(owner, 5, 'verify');
    const res = await app.inject({ url: '/api/v1/audit-logs/verify', headers: bearer(owner.accessToken) });
    expect(res.json()).toMatchObject({ valid: true, firstBroken: null });
    expect(res.json<{ checked: number }>().checked).toBeGreaterThanOrEqual(5);
    expect(await pendingCount(owner.organizationId)).toBe(0);
  });

  it('should list a pending entry with seq, prevHash and hash null', async () => {
    const owner = await registerOwner(app, 'deferred-list');
    await app.get(AuditChainer).chain(owner.organizationId);
    const locker = db.createQueryRunner();
    await locker.connect();
    await locker.startTransaction();
    try {
      // While the head is locked nobody links the new entry, so the list shows it pending.
      await locker.query('SELECT 1 FROM audit_chain_heads WHERE chain_key = $1 FOR UPDATE', [owner.organizationId]);
      await audit.record(entry(owner, 'listed.pending'));
      const res = await app.inject({
        url: '/api/v1/audit-logs?action=listed.pending',
        headers: bearer(owner.accessToken),
      });
      expect(res.statusCode).toBe(200);
      expect(res.json<{ data: unknown[] }>().data).toEqual([
        expect.objectContaining({ action: 'listed.pending', seq: null, prevHash: null, hash: null }),
      ]);
    } finally {
      await locker.rollbackTransaction();
      await locker.release();
    }
  });

  it('should be linked by a running worker without anyone asking', async () => {
    const owner = await registerOwner(app, 'deferred-worker');
    // Queues of its own: this worker must not take other spec files' jobs.
    const worker = await createTestWorker({
      REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}deferred-chain:`,
    });
    try {
      await audit.record(entry(owner, 'worker.linked'));
      const linked = await waitFor(
        async () => {
          const [row] = await db.query<{ seq: string | null }[]>(
            `SELECT l.seq FROM audit_logs a JOIN audit_chain_links l ON l.entry_id = a.id
              WHERE a.chain_key = $1 AND a.action = 'worker.linked'`,
            [owner.organizationId],
          );
          return row?.seq ?? undefined;
        },
        { what: 'the worker to link the entry', timeoutMs: 10000 },
      );
      expect(Number(linked)).toBeGreaterThan(0);
    } finally {
      await worker.close();
    }
    expect(firstBrokenLink(await auditEntries(app, owner.organizationId))).toBeNull();
  });

  it('should write an entry once: linking inserts its link and never updates the entry', async () => {
    const owner = await registerOwner(app, 'deferred-insert-only');
    await writePending(owner, 3, 'insert-only');
    const version = () =>
      db.query<{ id: string; version: string }[]>(
        `SELECT id, xmin::text || ':' || ctid::text AS version FROM audit_logs WHERE chain_key = $1 ORDER BY id`,
        [owner.organizationId],
      );
    const before = await version();
    const chain = await auditEntries(app, owner.organizationId);
    expect(chain.filter((e) => e.action.startsWith('insert-only.'))).toHaveLength(3);
    // An UPDATE would give every row a new xmin and tuple.
    expect(await version()).toEqual(before);
    const [{ links }] = await db.query<{ links: number }[]>(
      'SELECT count(*)::int AS links FROM audit_chain_links WHERE chain_key = $1',
      [owner.organizationId],
    );
    expect(links).toBe(chain.length);
  });

  it('should refuse a second link for an entry or a chain position', async () => {
    const owner = await registerOwner(app, 'deferred-unique-link');
    await writePending(owner, 2, 'unique-link');
    const chain = await auditEntries(app, owner.organizationId);
    const [first, last] = [chain[0], chain.at(-1)!];
    const link = (entryId: string, seq: number) =>
      db.query(
        `INSERT INTO audit_chain_links (chain_key, seq, entry_id, occurred_at, hash)
         VALUES ($1, $2, $3, now(), repeat('0', 64))`,
        [owner.organizationId, seq, entryId],
      );
    await expect(link(first.id, last.seq + 1)).rejects.toThrow(/audit_chain_links_entry_key/);
    await expect(link(randomUUID(), last.seq)).rejects.toThrow(/audit_chain_links_pkey/);
  });

  it('should leave neither the entry nor its queue row when the change rolls back', async () => {
    const owner = await registerOwner(app, 'deferred-rollback');
    await app.get(AuditChainer).chain(owner.organizationId);
    await expect(
      db.transaction(async (m) => {
        await audit.record(entry(owner, 'rolled.back'), m);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const [{ entries, queued }] = await db.query<{ entries: number; queued: number }[]>(
      `SELECT (SELECT count(*)::int FROM audit_logs WHERE chain_key = $1 AND action = 'rolled.back') AS entries,
              (SELECT count(*)::int FROM audit_pending WHERE chain_key = $1) AS queued`,
      [owner.organizationId],
    );
    expect({ entries, queued }).toEqual({ entries: 0, queued: 0 });
  });
});
