import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../src/config/app.config';
import { dataSourceOptions } from '../../src/core/database/data-source.options';
import { AuditChainer } from '../../src/modules/audit/audit-chainer';
import { auditHash } from '../../src/modules/audit/audit-hash';
import type { ChainedAuditLog } from '../../src/modules/audit/audit-log.entity';
import { firstBrokenLink } from '../helpers/audit';
import { ADMIN_DATABASE_URL, databaseUrlFor } from '../setup/test-env';

/*
 * Migration 1765252800000 on a database of its own: migrated to the end, the last migration undone (the
 * chain back in audit_logs' columns), entries written the old way (chained ones with seq/prev_hash/hash,
 * one pending), then migrated again.
 */
describe('Migration AuditChainLinks1765252800000', () => {
  const database = `${process.env.TEST_DATABASE ?? 'atrium_test'}_chain_links`;
  let db: DataSource;

  const admin = async (sql: string) => {
    const client = new Client({ connectionString: ADMIN_DATABASE_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin(`CREATE DATABASE "${database}"`);
    // Migration chatter would drown the test report (as in global-setup); failures still throw.
    Logger.overrideLogger(false);
    const config = AppConfig.fromEnv({ ...process.env, DATABASE_URL: databaseUrlFor(database) });
    db = new DataSource(dataSourceOptions(config, 'atrium-test-migration'));
    await db.initialize();
    await db.runMigrations({ transaction: 'each' });
  });

  afterAll(async () => {
    await db?.destroy();
    await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  });

  it('should move chained entries into links and queue pending ones, keeping every hash valid', async () => {
    await db.undoLastMigration({ transaction: 'each' });
    const [{ columns }] = await db.query<{ columns: number }[]>(
      `SELECT count(*)::int AS columns FROM information_schema.columns
        WHERE table_name = 'audit_logs' AND column_name IN ('seq', 'prev_hash', 'hash')`,
    );
    expect(columns).toBe(3);

    const chainKey = randomUUID();
    const start = Date.now() - 60_000;
    const chained: ChainedAuditLog[] = [];
    let prevHash: string | null = null;
    for (let i = 0; i < 5; i++) {
      const fields: Omit<ChainedAuditLog, 'hash'> = {
        id: randomUUID(),
        occurredAt: new Date(start + i * 1000),
        organizationId: chainKey,
        actorId: null,
        action: `old.${i}`,
        resourceType: 'fixture',
        resourceId: String(i),
        outcome: 'success',
        ip: null,
        userAgent: null,
        requestId: null,
        changes: { before: { n: i }, after: { n: i + 1 } },
        details: null,
        chainKey,
        seq: i + 1,
        prevHash,
      };
      const entry = { ...fields, hash: auditHash(fields) };
      chained.push(entry);
      prevHash = entry.hash;
    }
    const insert = `INSERT INTO audit_logs (id, occurred_at, organization_id, action, resource_type, resource_id,
                      outcome, changes, chain_key, seq, prev_hash, hash)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;
    for (const e of chained) {
      await db.query(insert, [
        e.id,
        e.occurredAt,
        e.organizationId,
        e.action,
        e.resourceType,
        e.resourceId,
        e.outcome,
        JSON.stringify(e.changes),
        e.chainKey,
        e.seq,
        e.prevHash,
        e.hash,
      ]);
    }
    await db.query('INSERT INTO audit_chain_heads (chain_key, seq, hash) VALUES ($1, $2, $3)', [chainKey, 5, prevHash]);
    const pendingId = randomUUID();
    await db.query(insert, [
      pendingId,
      new Date(start + 10_000),
      chainKey,
      'old.pending',
      'fixture',
      '9',
      'success',
      null,
      chainKey,
      null,
      null,
      null,
    ]);

    await db.runMigrations({ transaction: 'each' });

    const links = await db.query<{ entryId: string; seq: number; prevHash: string | null; hash: string }[]>(
      `SELECT entry_id AS "entryId", seq::int AS seq, prev_hash AS "prevHash", hash
         FROM audit_chain_links WHERE chain_key = $1 ORDER BY seq`,
      [chainKey],
    );
    expect(links).toEqual(chained.map((e) => ({ entryId: e.id, seq: e.seq, prevHash: e.prevHash, hash: e.hash })));
    expect(await db.query('SELECT entry_id AS "entryId" FROM audit_pending WHERE chain_key = $1', [chainKey])).toEqual([
      { entryId: pendingId },
    ]);
    const [{ remaining }] = await db.query<{ remaining: number }[]>(
      `SELECT count(*)::int AS remaining FROM information_schema.columns
        WHERE table_name = 'audit_logs' AND column_name IN ('seq', 'prev_hash', 'hash')`,
    );
    expect(remaining).toBe(0);

    // The pending entry is linked after the migrated ones, and the whole chain verifies.
    expect(await new AuditChainer(db).chain(chainKey)).toBe(1);
    const chain = await db.query<ChainedAuditLog[]>(
      `SELECT a.id, a.occurred_at AS "occurredAt", a.organization_id AS "organizationId", a.actor_id AS "actorId",
              a.action, a.resource_type AS "resourceType", a.resource_id AS "resourceId", a.outcome, a.ip,
              a.user_agent AS "userAgent", a.request_id AS "requestId", a.changes, a.details,
              a.chain_key AS "chainKey", l.seq::int AS seq, l.prev_hash AS "prevHash", l.hash
         FROM audit_chain_links l JOIN audit_logs a ON a.id = l.entry_id AND a.occurred_at = l.occurred_at
        WHERE l.chain_key = $1 ORDER BY l.seq`,
      [chainKey],
    );
    expect(chain.map((e) => e.action)).toEqual(['old.0', 'old.1', 'old.2', 'old.3', 'old.4', 'old.pending']);
    expect(firstBrokenLink(chain)).toBeNull();
  });

  it('should drop the links and queue rows of the months retention drops, and only those', async () => {
    const chainKey = randomUUID();
    const write = async (occurredAt: Date, linkSeq: number | null) => {
      const id = randomUUID();
      await db.query('SELECT audit_ensure_partition_for($1)', [occurredAt]);
      await db.query(
        `INSERT INTO audit_logs (id, occurred_at, action, outcome, chain_key) VALUES ($1, $2, 'retention', 'success', $3)`,
        [id, occurredAt, chainKey],
      );
      if (linkSeq === null) {
        await db.query('INSERT INTO audit_pending (chain_key, occurred_at, entry_id) VALUES ($1, $2, $3)', [
          chainKey,
          occurredAt,
          id,
        ]);
      } else {
        await db.query(
          `INSERT INTO audit_chain_links (chain_key, seq, entry_id, occurred_at, hash) VALUES ($1, $2, $3, $4, 'h')`,
          [chainKey, linkSeq, id, occurredAt],
        );
      }
      return id;
    };
    await write(new Date('2019-06-10T00:00:00Z'), 1);
    await write(new Date('2019-06-20T00:00:00Z'), null);
    const keptLinked = await write(new Date('2019-07-10T00:00:00Z'), 2);
    const keptPending = await write(new Date('2019-07-20T00:00:00Z'), null);

    const [{ dropped }] = await db.query<{ dropped: number }[]>(
      `SELECT audit_drop_partitions_before('2019-07-01T00:00:00Z') AS dropped`,
    );
    expect(dropped).toBeGreaterThanOrEqual(1);
    const left = await db.query<{ kind: string; entryId: string }[]>(
      `SELECT 'link' AS kind, entry_id AS "entryId" FROM audit_chain_links WHERE chain_key = $1
       UNION ALL SELECT 'pending', entry_id FROM audit_pending WHERE chain_key = $1 ORDER BY 1`,
      [chainKey],
    );
    expect(left).toEqual([
      { kind: 'link', entryId: keptLinked },
      { kind: 'pending', entryId: keptPending },
    ]);
  });
});
