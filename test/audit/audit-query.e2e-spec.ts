import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { ChainedAuditLog } from '../../src/modules/audit/audit-log.entity';
import { insertAuditEntries, monthStart, type AuditEntryFixture } from '../helpers/audit-fixtures';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertMember, loginAs } from '../helpers/fixtures';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';

interface AuditLogBody {
  id: string;
  occurredAt: string;
  organizationId: string;
  actorId: string | null;
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  outcome: string;
  seq: number;
  hash: string;
}

interface PageBody {
  data: AuditLogBody[];
  page: { limit: number; nextCursor: string | null; hasMore: boolean };
}

// Fixture rows live two months ahead: that month's partition exists (the migration creates 3 ahead) and no
// request of any test writes there, so time windows select exactly the fixtures.
const BASE = new Date(monthStart(2).getTime() + 9 * 86_400_000);
const minutes = (n: number) => new Date(BASE.getTime() + n * 60_000);
const WINDOW = `from=${BASE.toISOString()}&to=${minutes(24 * 60).toISOString()}`;

describe('Audit log query API', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let owner: TestAccount;
  let other: TestAccount;
  let entries: ChainedAuditLog[];
  let otherEntries: ChainedAuditLog[];
  const actorA = randomUUID();
  const actorB = randomUUID();

  beforeAll(async () => {
    app = await createTestApp();
    db = app.get(DataSource);
    [owner, other] = await Promise.all([registerOwner(app, 'audit-owner'), registerOwner(app, 'audit-other')]);
    const fixtures: AuditEntryFixture[] = Array.from({ length: 25 }, (_, i) => ({
      occurredAt: minutes(i),
      actorId: i % 2 === 0 ? actorA : actorB,
      action: i % 5 === 0 ? 'customers.delete' : 'customers.update',
      resourceType: 'customer',
      resourceId: `c-${i % 3}`,
      outcome: i % 7 === 0 ? 'denied' : 'success',
      details: { index: i },
    }));
    entries = await insertAuditEntries(db, owner.organizationId, fixtures);
    otherEntries = await insertAuditEntries(db, other.organizationId, fixtures.slice(0, 5));
  });

  afterAll(async () => {
    await app.close();
  });

  const get = (token: string, url: string) => app.inject({ url: `/api/v1${url}`, headers: bearer(token) });

  async function all(token: string, query: string): Promise<AuditLogBody[]> {
    const rows: AuditLogBody[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(token, `/audit-logs?${query}&limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      const body = res.json<PageBody>();
      rows.push(...body.data);
      cursor = body.page.nextCursor;
    } while (cursor);
    return rows;
  }

  describe('GET /audit-logs', () => {
    it('should page through only the caller organization entries, newest first, when no sort is given', async () => {
      const rows = await all(owner.accessToken, WINDOW);
      expect(rows.map((row) => row.id)).toEqual(entries.map((entry) => entry.id).reverse());
      expect(new Set(rows.map((row) => row.organizationId))).toEqual(new Set([owner.organizationId]));
      const otherRows = await all(other.accessToken, WINDOW);
      expect(otherRows.map((row) => row.id)).toEqual(otherEntries.map((entry) => entry.id).reverse());
    });

    it('should write a page as the same bytes JSON.stringify writes, every field included', async () => {
      // GET /audit-logs has a Fastify response schema (compiled serializer); awkward text must not change bytes.
      const writer = await registerOwner(app, 'audit-bytes');
      const changes = { before: { name: 'Zoë "Ada" </script> \u2028 \u0007 😀' }, after: { tags: ['a', null, 1.5] } };
      const details = { nested: { b: 1, a: [true, null, 'x'] }, 'key "quoted"': {}, emoji: '😀' };
      const [entry] = await insertAuditEntries(db, writer.organizationId, [
        { occurredAt: minutes(30), ip: '203.0.113.7', userAgent: 'ünïcode \\ agent', changes, details },
      ]);
      const res = await get(writer.accessToken, `/audit-logs?${WINDOW}`);
      expect(res.statusCode).toBe(200);
      const body = res.json<{ data: Record<string, unknown>[] }>();
      expect(res.body).toBe(JSON.stringify(body));
      expect(body.data).toEqual([
        {
          id: entry.id,
          occurredAt: entry.occurredAt.toISOString(),
          organizationId: writer.organizationId,
          actorId: null,
          action: 'fixtures.create',
          resourceType: 'fixture',
          resourceId: null,
          outcome: 'success',
          ip: '203.0.113.7',
          userAgent: 'ünïcode \\ agent',
          requestId: null,
          changes,
          details,
          seq: entry.seq,
          prevHash: entry.prevHash,
          hash: entry.hash,
        },
      ]);
    });

    it('should page oldest first when sort is occurredAt', async () => {
      const rows = await all(owner.accessToken, `${WINDOW}&sort=occurredAt`);
      expect(rows.map((row) => row.id)).toEqual(entries.map((entry) => entry.id));
    });

    it('should apply every filter when given', async () => {
      const ids = async (query: string) => (await all(owner.accessToken, `${WINDOW}&${query}`)).map((r) => r.id).sort();
      const expected = (keep: (entry: ChainedAuditLog) => boolean) =>
        entries
          .filter(keep)
          .map((entry) => entry.id)
          .sort();
      expect(await ids(`actorId=${actorA}`)).toEqual(expected((e) => e.actorId === actorA));
      expect(await ids('action=customers.delete')).toEqual(expected((e) => e.action === 'customers.delete'));
      expect(await ids('resourceType=customer&resourceId=c-1')).toEqual(expected((e) => e.resourceId === 'c-1'));
      expect(await ids('outcome=denied')).toEqual(expected((e) => e.outcome === 'denied'));
      expect(await ids(`actorId=${actorB}&outcome=success&action=customers.update`)).toEqual(
        expected((e) => e.actorId === actorB && e.outcome === 'success' && e.action === 'customers.update'),
      );
    });

    it('should treat from as inclusive and to as exclusive', async () => {
      const rows = await all(owner.accessToken, `from=${minutes(3).toISOString()}&to=${minutes(6).toISOString()}`);
      expect(rows.map((row) => row.id)).toEqual([entries[5].id, entries[4].id, entries[3].id]);
    });

    it('should answer 400 naming the field when a filter is malformed or the range is empty', async () => {
      expect((await get(owner.accessToken, '/audit-logs?from=yesterday')).json()).toMatchObject({
        errors: [{ field: 'from' }],
      });
      const reversed = await get(
        owner.accessToken,
        `/audit-logs?from=${minutes(5).toISOString()}&to=${BASE.toISOString()}`,
      );
      expect(expectProblem(reversed, 400, 'validation-failed')).toMatchObject({ errors: [{ field: 'to' }] });
      expectProblem(await get(owner.accessToken, '/audit-logs?outcome=maybe'), 400, 'validation-failed');
      expectProblem(await get(owner.accessToken, '/audit-logs?actorId=nobody'), 400, 'validation-failed');
      expectProblem(await get(owner.accessToken, '/audit-logs?sort=action'), 400, 'validation-failed');
    });

    it('should answer 403 when the caller lacks audit:read', async () => {
      const agent = await insertMember(app, owner.organizationId, { assignments: [{ roleKey: 'agent' }] });
      const token = await loginAs(app, agent.email);
      expectProblem(await get(token, '/audit-logs'), 403, 'permission-denied');
    });
  });

  describe('GET /audit-logs/:id', () => {
    it('should return an entry of the caller organization', async () => {
      const res = await get(owner.accessToken, `/audit-logs/${entries[3].id}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        id: entries[3].id,
        occurredAt: entries[3].occurredAt.toISOString(),
        action: entries[3].action,
        seq: entries[3].seq,
        hash: entries[3].hash,
        details: { index: 3 },
      });
    });

    it("should answer 404 for another organization's entry and 400 for a malformed id", async () => {
      expectProblem(await get(owner.accessToken, `/audit-logs/${otherEntries[0].id}`), 404, 'audit-log-not-found');
      expectProblem(await get(owner.accessToken, `/audit-logs/${randomUUID()}`), 404, 'audit-log-not-found');
      expect((await get(owner.accessToken, '/audit-logs/not-a-uuid')).json()).toMatchObject({
        errors: [{ field: 'id' }],
      });
    });
  });
});
