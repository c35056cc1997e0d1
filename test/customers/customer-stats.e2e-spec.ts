import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertDepartment, insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { createTestApp } from '../helpers/test-app';
import { CustomerStatsCache } from '../../src/modules/customers/customer-stats.cache';
import { insertCustomer } from './customer-fixtures';

interface StatsBody {
  byStatus: Record<string, number>;
  byOwner: { ownerId: string | null; count: number }[];
  createdPerWeek: { week: string; count: number }[];
}

/** Monday (UTC) of the week `weeksAgo` weeks before this one, as YYYY-MM-DD. */
function mondayOf(weeksAgo: number): string {
  const now = new Date();
  const monday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7) - 7 * weeksAgo);
  return monday.toISOString().slice(0, 10);
}

describe('Customer stats (GET /customers/stats)', () => {
  let app: NestFastifyApplication;
  let owner: TestAccount;
  let sales: { id: string };
  let salesReaderToken: string;
  let salesReaderId: string;

  const stats = async (token: string): Promise<StatsBody> => {
    const res = await app.inject({ url: '/api/v1/customers/stats', headers: bearer(token) });
    expect(res.statusCode).toBe(200);
    return res.json<StatsBody>();
  };

  beforeAll(async () => {
    app = await createTestApp();
    owner = await registerOwner(app, 'stats');
    const org = owner.organizationId;
    sales = await insertDepartment(app, org, { name: 'Sales' });
    const support = await insertDepartment(app, org, { name: 'Support' });
    const readRole = await insertRole(app, org, ['customers:read']);
    const salesReader = await insertMember(app, org, {
      label: 'sales-reader',
      assignments: [{ roleId: readRole, departmentId: sales.id }],
    });
    salesReaderToken = await loginAs(app, salesReader.email);
    salesReaderId = salesReader.id;

    const weekAgo = new Date(`${mondayOf(1)}T12:00:00.000Z`);
    const longAgo = new Date(`${mondayOf(20)}T12:00:00.000Z`);
    await insertCustomer(app, org, { status: 'lead', ownerId: owner.userId, departmentId: sales.id });
    await insertCustomer(app, org, { status: 'lead', ownerId: owner.userId, departmentId: sales.id });
    await insertCustomer(app, org, { status: 'active', departmentId: sales.id, createdAt: weekAgo });
    await insertCustomer(app, org, { status: 'churned', ownerId: salesReader.id, departmentId: support.id });
    await insertCustomer(app, org, { status: 'prospect', createdAt: longAgo });
    await insertCustomer(app, org, { status: 'active', deleted: true });
  });

  afterAll(async () => {
    await app.close();
  });

  it('should count live customers by status, owner and week when the caller reads the whole organization', async () => {
    const body = await stats(owner.accessToken);
    expect(body.byStatus).toEqual({ lead: 2, prospect: 1, active: 1, churned: 1 });
    expect(body.byOwner).toEqual([
      { ownerId: owner.userId, count: 2 },
      { ownerId: null, count: 2 },
      { ownerId: salesReaderId, count: 1 },
    ]);
    expect(body.createdPerWeek).toHaveLength(12);
    expect(body.createdPerWeek[11]).toEqual({ week: mondayOf(0), count: 3 });
    expect(body.createdPerWeek[10]).toEqual({ week: mondayOf(1), count: 1 });
    expect(body.createdPerWeek[0].week).toBe(mondayOf(11));
    expect(body.createdPerWeek.reduce((sum, week) => sum + week.count, 0)).toBe(4);
  });

  it('should count only readable departments when the caller has a department grant', async () => {
    const body = await stats(salesReaderToken);
    expect(body.byStatus).toEqual({ lead: 2, prospect: 0, active: 1, churned: 0 });
    expect(body.byOwner).toEqual([
      { ownerId: owner.userId, count: 2 },
      { ownerId: null, count: 1 },
    ]);
  });

  it('should serve the cached value until the organization is invalidated when a row changes behind the cache', async () => {
    const org = owner.organizationId;
    const before = await stats(owner.accessToken);
    // Behind the cache's back: no service saw this insert, so the cached numbers must stay.
    await insertCustomer(app, org, { status: 'churned' });
    expect((await stats(owner.accessToken)).byStatus).toEqual(before.byStatus);

    await app.get(CustomerStatsCache).invalidate(org);
    const after = await stats(owner.accessToken);
    expect(after.byStatus.churned).toBe(before.byStatus.churned + 1);
  });

  it('should not serve stale stats after a customer is created or deleted through the API', async () => {
    // A version exists once anything was written: from here on the stats are cached.
    await app.get(CustomerStatsCache).invalidate(owner.organizationId);
    const before = await stats(owner.accessToken);
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: bearer(owner.accessToken),
      payload: { name: 'Fresh Lead', status: 'lead' },
    });
    expect(created.statusCode).toBe(201);
    expect((await stats(owner.accessToken)).byStatus.lead).toBe(before.byStatus.lead + 1);
    const id = created.json<{ id: string }>().id;
    expect(
      (await app.inject({ method: 'DELETE', url: `/api/v1/customers/${id}`, headers: bearer(owner.accessToken) }))
        .statusCode,
    ).toBe(204);
    expect((await stats(owner.accessToken)).byStatus.lead).toBe(before.byStatus.lead);
  });

  it("should leave other organizations' cached stats alone when one organization is invalidated", async () => {
    const other = await registerOwner(app, 'stats-other');
    await insertCustomer(app, other.organizationId, { status: 'lead' });
    expect((await stats(other.accessToken)).byStatus.lead).toBe(1);
    await insertCustomer(app, other.organizationId, { status: 'lead' });
    await app.get(CustomerStatsCache).invalidate(owner.organizationId);
    expect((await stats(other.accessToken)).byStatus.lead).toBe(1);
  });

  it('should refuse a caller without customers:read', async () => {
    const noRole = await insertMember(app, owner.organizationId, { label: 'nobody' });
    const res = await app.inject({
      url: '/api/v1/customers/stats',
      headers: bearer(await loginAs(app, noRole.email)),
    });
    expect(res.statusCode).toBe(403);
  });
});
