import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource, QueryFailedError } from 'typeorm';
import { TransactionRunner } from '../../src/core/database/transaction.runner';
import { AUDIT_APPEND_STATEMENT } from '../../src/modules/audit/audit-append.statement';
import { AuditService, type AuditEntry } from '../../src/modules/audit/audit.service';
import { auditEntries, firstBrokenLink } from '../helpers/audit';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { createTestApp } from '../helpers/test-app';

/*
 * Inside a transaction an entry is written through the transaction's own pg client as a named prepared
 * statement (appendAuditEntry); without one, through m.query. Both must write the same rows, in the caller's
 * transaction, and chain and verify alike.
 */
describe('AuditService append (prepared statement)', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let audit: AuditService;
  let tx: TransactionRunner;

  beforeAll(async () => {
    app = await createTestApp();
    db = app.get(DataSource);
    audit = app.get(AuditService);
    tx = app.get(TransactionRunner);
  });

  afterAll(async () => {
    await app.close();
  });

  const entry = (owner: TestAccount, action: string, extra: Partial<AuditEntry> = {}): AuditEntry => ({
    organizationId: owner.organizationId,
    actorId: owner.userId,
    action,
    resourceType: 'fixture',
    resourceId: 'r-1',
    outcome: 'success',
    ip: '203.0.113.9',
    userAgent: 'jest',
    requestId: 'req-append',
    ...extra,
  });

  /** An entry's row; `queued`: pending in audit_pending, or already linked (a worker may have chained it). */
  const rowOf = async (id: string) =>
    (
      await db.query<Record<string, unknown>[]>(
        `SELECT organization_id, actor_id, action, resource_type, resource_id, outcome, ip, user_agent, request_id,
                changes, details, chain_key,
                (EXISTS (SELECT 1 FROM audit_pending p WHERE p.entry_id = a.id AND p.occurred_at = a.occurred_at
                           AND p.chain_key = a.chain_key)
                 OR EXISTS (SELECT 1 FROM audit_chain_links l WHERE l.entry_id = a.id)) AS queued
           FROM audit_logs a WHERE id = $1`,
        [id],
      )
    )[0];

  it('should write the entry as a named prepared statement on the transaction connection', async () => {
    const owner = await registerOwner(app, 'append-prepared');
    const prepared = await tx.run(async (m) => {
      await audit.record(entry(owner, 'fixture.prepared'), m);
      return m.query<{ name: string; statement: string }[]>(
        'SELECT name, statement FROM pg_prepared_statements WHERE name = $1',
        [AUDIT_APPEND_STATEMENT],
      );
    });
    expect(prepared).toHaveLength(1);
    expect(prepared[0].statement).toContain('INSERT INTO audit_logs');
  });

  it('should write the same row as the m.query path, and both should chain and verify', async () => {
    const owner = await registerOwner(app, 'append-identical');
    const change = {
      action: 'fixture.update',
      resourceType: 'fixture',
      resourceId: 'r-2',
      before: { name: 'Old', at: new Date('2026-01-02T03:04:05.678Z'), password: 'x' },
      after: { name: 'New', at: new Date('2026-02-03T04:05:06.789Z'), password: 'y', nested: { token: 't', n: 1 } },
      details: { why: 'test', apiKeySecret: 's' },
    };
    const actor = { id: owner.userId, organizationId: owner.organizationId };
    const fast = await tx.run((m) => audit.recordChange(actor, change, m));
    // The data source's manager has no transaction query runner: the fallback (m.query) path.
    const plain = await audit.recordChange(actor, change, db.manager);

    const [fastRow, plainRow] = [await rowOf(fast.id), await rowOf(plain.id)];
    expect(fastRow).toEqual(plainRow);
    expect(fastRow).toMatchObject({
      queued: true,
      changes: {
        before: { name: 'Old', at: '2026-01-02T03:04:05.678Z', password: '[redacted]' },
        after: {
          name: 'New',
          at: '2026-02-03T04:05:06.789Z',
          password: '[redacted]',
          nested: { token: '[redacted]', n: 1 },
        },
      },
      details: { why: 'test', apiKeySecret: '[redacted]' },
    });

    const chain = await auditEntries(app, owner.organizationId);
    expect(chain.map((e) => e.id)).toEqual(expect.arrayContaining([fast.id, plain.id]));
    expect(firstBrokenLink(chain)).toBeNull();
    const res = await app.inject({ url: '/api/v1/audit-logs/verify', headers: bearer(owner.accessToken) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ valid: true, firstBroken: null });
  });

  it('should leave neither the entry nor its queue row when the transaction rolls back', async () => {
    const owner = await registerOwner(app, 'append-rollback');
    let id = '';
    await expect(
      tx.run(async (m) => {
        id = (await audit.record(entry(owner, 'fixture.rolled-back'), m)).id;
        expect(await rowOf(id)).toBeUndefined(); // not visible outside the transaction before commit
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(id).not.toBe('');
    const [{ entries, queued }] = await db.query<{ entries: number; queued: number }[]>(
      `SELECT (SELECT count(*)::int FROM audit_logs WHERE id = $1) AS entries,
              (SELECT count(*)::int FROM audit_pending WHERE entry_id = $1) AS queued`,
      [id],
    );
    expect({ entries, queued }).toEqual({ entries: 0, queued: 0 });
  });

  it('should fail with a QueryFailedError and abort the caller transaction when the entry is invalid', async () => {
    const owner = await registerOwner(app, 'append-invalid');
    const failure = tx.run(async (m) => {
      await audit.record(entry(owner, 'fixture.valid-before'), m);
      await audit.record(entry(owner, 'fixture.invalid', { actorId: 'not-a-uuid' }), m);
    });
    await expect(failure).rejects.toBeInstanceOf(QueryFailedError);
    await expect(failure).rejects.toMatchObject({ driverError: { code: '22P02' } });
    const [{ n }] = await db.query<{ n: number }[]>(
      "SELECT count(*)::int AS n FROM audit_logs WHERE chain_key = $1 AND action LIKE 'fixture.%'",
      [owner.organizationId],
    );
    expect(n).toBe(0);
    // The pooled connections, and the statement prepared on them, still work afterwards.
    const ids = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        tx.run(async (m) => (await audit.record(entry(owner, `fixture.after.${i}`), m)).id),
      ),
    );
    for (const id of ids) expect(await rowOf(id)).toMatchObject({ queued: true });
  });

  it('should write every entry when one transaction appends many (the plan is reused)', async () => {
    const owner = await registerOwner(app, 'append-many');
    const ids = await tx.run(async (m) => {
      const written: string[] = [];
      for (let i = 0; i < 12; i++) {
        const extra = i % 3 === 0 ? { ip: null, userAgent: null, details: { i } } : { changes: null };
        written.push((await audit.record(entry(owner, `fixture.many.${i}`, extra), m)).id);
      }
      return written;
    });
    const chain = await auditEntries(app, owner.organizationId);
    expect(chain.filter((e) => ids.includes(e.id))).toHaveLength(12);
    expect(firstBrokenLink(chain)).toBeNull();
    expect(await rowOf(ids[3])).toMatchObject({ ip: null, user_agent: null, details: { i: 3 }, queued: true });
  });
});
