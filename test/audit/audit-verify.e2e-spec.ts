import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { ChainedAuditLog } from '../../src/modules/audit/audit-log.entity';
import { insertAuditEntries, monthStart } from '../helpers/audit-fixtures';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { createTestApp } from '../helpers/test-app';

interface VerifyBody {
  valid: boolean;
  checked: number;
  firstBroken: { id: string; seq: number; occurredAt: string; reason: string } | null;
}

const BASE = new Date(monthStart(2).getTime() + 13 * 86_400_000);
const at = (minutes: number) => new Date(BASE.getTime() + minutes * 60_000);
const WINDOW = `from=${BASE.toISOString()}&to=${at(24 * 60).toISOString()}`;

describe('Audit chain verification', () => {
  let app: NestFastifyApplication;
  let db: DataSource;

  beforeAll(async () => {
    app = await createTestApp();
    db = app.get(DataSource);
  });

  afterAll(async () => {
    await app.close();
  });

  /** A new organization with ten chained entries in the window. */
  async function chain(label: string): Promise<{ owner: TestAccount; entries: ChainedAuditLog[] }> {
    const owner = await registerOwner(app, label);
    const entries = await insertAuditEntries(
      db,
      owner.organizationId,
      Array.from({ length: 10 }, (_, i) => ({
        occurredAt: at(i),
        action: 'customers.update',
        resourceId: `c-${i}`,
        changes: { before: { name: `old ${i}` }, after: { name: `new ${i}` } },
        details: { step: i, nested: { b: 2, a: 1 } },
      })),
    );
    return { owner, entries };
  }

  const verify = async (owner: TestAccount, query = WINDOW): Promise<VerifyBody> => {
    const res = await app.inject({ url: `/api/v1/audit-logs/verify?${query}`, headers: bearer(owner.accessToken) });
    expect(res.statusCode).toBe(200);
    return res.json<VerifyBody>();
  };

  it('should report a valid chain when no entry was touched', async () => {
    const { owner } = await chain('verify-intact');
    await expect(verify(owner)).resolves.toEqual({ valid: true, checked: 10, firstBroken: null });
    // A range starting mid-chain trusts its first entry's prev_hash.
    await expect(verify(owner, `from=${at(4).toISOString()}&to=${at(8).toISOString()}`)).resolves.toEqual({
      valid: true,
      checked: 4,
      firstBroken: null,
    });
  });

  it('should fail at exactly the edited row when an action is changed in SQL', async () => {
    const { owner, entries } = await chain('verify-action');
    await db.query("UPDATE audit_logs SET action = 'customers.read' WHERE id = $1", [entries[6].id]);
    await expect(verify(owner)).resolves.toEqual({
      valid: false,
      checked: 7,
      firstBroken: { id: entries[6].id, seq: entries[6].seq, occurredAt: at(6).toISOString(), reason: 'hash-mismatch' },
    });
  });

  it('should fail at exactly the edited row when details are changed in SQL', async () => {
    const { owner, entries } = await chain('verify-details');
    await db.query(`UPDATE audit_logs SET details = details || '{"step": 99}' WHERE id = $1`, [entries[2].id]);
    const result = await verify(owner);
    expect(result).toMatchObject({ valid: false, firstBroken: { id: entries[2].id, reason: 'hash-mismatch' } });
  });

  it('should fail at the row after a deleted one', async () => {
    const { owner, entries } = await chain('verify-delete');
    await db.query('DELETE FROM audit_logs WHERE id = $1', [entries[4].id]);
    await expect(verify(owner)).resolves.toMatchObject({
      valid: false,
      checked: 5,
      firstBroken: { id: entries[5].id, seq: entries[5].seq, reason: 'seq-gap' },
    });
  });

  it('should fail at the row whose link was rewritten even when its own hash was recomputed', async () => {
    const { owner, entries } = await chain('verify-relink');
    // Renumbering to hide a deletion: the next entry's prev_hash no longer matches. Links are moved down one
    // at a time, lowest first, so no two share a seq on the way.
    await db.query('DELETE FROM audit_logs WHERE id = $1', [entries[3].id]);
    await db.query('DELETE FROM audit_chain_links WHERE entry_id = $1', [entries[3].id]);
    for (const entry of entries.slice(4)) {
      await db.query('UPDATE audit_chain_links SET seq = seq - 1 WHERE entry_id = $1', [entry.id]);
    }
    await expect(verify(owner)).resolves.toMatchObject({
      valid: false,
      firstBroken: { id: entries[4].id, reason: 'prev-hash-mismatch' },
    });
  });

  it("should fail at the row whose link's hash was replaced", async () => {
    const { owner, entries } = await chain('verify-link-hash');
    await db.query("UPDATE audit_chain_links SET hash = repeat('0', 64) WHERE entry_id = $1", [entries[5].id]);
    await expect(verify(owner)).resolves.toEqual({
      valid: false,
      checked: 6,
      firstBroken: { id: entries[5].id, seq: entries[5].seq, occurredAt: at(5).toISOString(), reason: 'hash-mismatch' },
    });
  });

  it('should fail at the row after one whose link was deleted', async () => {
    const { owner, entries } = await chain('verify-link-delete');
    // The entry stays, unlinked: it no longer takes part in the chain, which now skips a seq.
    await db.query('DELETE FROM audit_chain_links WHERE entry_id = $1', [entries[7].id]);
    await expect(verify(owner)).resolves.toMatchObject({
      valid: false,
      checked: 8,
      firstBroken: { id: entries[8].id, seq: entries[8].seq, reason: 'seq-gap' },
    });
  });

  it('should fail when two links swap the entries they point to', async () => {
    const { owner, entries } = await chain('verify-link-swap');
    // Reordering: each link keeps its seq and hash but names the other entry (through a placeholder id, since
    // a link's entry is unique).
    const [a, b] = [entries[2], entries[3]];
    const repoint = (from: string, to: string, occurredAt: Date) =>
      db.query('UPDATE audit_chain_links SET entry_id = $2, occurred_at = $3 WHERE entry_id = $1', [
        from,
        to,
        occurredAt,
      ]);
    const placeholder = randomUUID();
    await repoint(a.id, placeholder, a.occurredAt);
    await repoint(b.id, a.id, a.occurredAt);
    await repoint(placeholder, b.id, b.occurredAt);
    await expect(verify(owner)).resolves.toMatchObject({
      valid: false,
      firstBroken: { id: entries[3].id, seq: entries[2].seq, reason: 'hash-mismatch' },
    });
  });

  it("should not look at another organization's chain", async () => {
    const { entries } = await chain('verify-tampered');
    const { owner } = await chain('verify-bystander');
    await db.query("UPDATE audit_logs SET action = 'x' WHERE id = $1", [entries[0].id]);
    await expect(verify(owner)).resolves.toEqual({ valid: true, checked: 10, firstBroken: null });
  });
});
