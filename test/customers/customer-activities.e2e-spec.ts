import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertDepartment, insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { createTestApp } from '../helpers/test-app';
import { insertCustomer } from './customer-fixtures';

interface ActivityBody {
  id: string;
  customerId: string;
  authorId: string;
  type: string;
  body: string;
  occurredAt: string;
}

interface ActivityPage {
  data: ActivityBody[];
  page: { limit: number; nextCursor: string | null; hasMore: boolean };
}

describe('Customer timeline (/customers/:id/activities)', () => {
  let app: NestFastifyApplication;
  let owner: TestAccount;
  let sales: { id: string; path: string };
  let support: { id: string; path: string };
  let readerToken: string;
  let salesEditorToken: string;

  beforeAll(async () => {
    app = await createTestApp();
    owner = await registerOwner(app, 'activities');
    const org = owner.organizationId;
    sales = await insertDepartment(app, org, { name: 'Sales' });
    support = await insertDepartment(app, org, { name: 'Support' });
    const readRole = await insertRole(app, org, ['customers:read']);
    const editRole = await insertRole(app, org, ['customers:read', 'customers:update']);
    const reader = await insertMember(app, org, { label: 'reader', assignments: [{ roleId: readRole }] });
    const salesEditor = await insertMember(app, org, {
      label: 'sales-editor',
      assignments: [{ roleId: editRole, departmentId: sales.id }],
    });
    readerToken = await loginAs(app, reader.email);
    salesEditorToken = await loginAs(app, salesEditor.email);
  });

  afterAll(async () => {
    await app.close();
  });

  const url = (customerId: string): string => `/api/v1/customers/${customerId}/activities`;

  async function post(token: string, customerId: string, payload: object) {
    return app.inject({ method: 'POST', url: url(customerId), headers: bearer(token), payload });
  }

  it('should create an activity and audit it in the same transaction when the caller may update the customer', async () => {
    const customerId = await insertCustomer(app, owner.organizationId, { departmentId: sales.id });
    const res = await post(salesEditorToken, customerId, {
      type: 'call',
      body: '  Discussed renewal  ',
      occurredAt: '2025-11-20T10:00:00.000Z',
    });
    expect(res.statusCode).toBe(201);
    const created = res.json<ActivityBody>();
    expect(created).toMatchObject({
      customerId,
      type: 'call',
      body: 'Discussed renewal',
      occurredAt: '2025-11-20T10:00:00.000Z',
    });
    const audit = await app
      .get(DataSource)
      .query<{ action: string; resource_id: string; details: { activityId: string } }[]>(
        `SELECT action, resource_id, details FROM audit_logs WHERE organization_id = $1 AND action = 'customers.activity.create'`,
        [owner.organizationId],
      );
    expect(audit).toEqual([
      expect.objectContaining({
        resource_id: customerId,
        details: expect.objectContaining({ activityId: created.id, type: 'call' }) as object,
      }),
    ]);
  });

  it('should list newest first and walk every page with the cursor when there are many activities', async () => {
    const customerId = await insertCustomer(app, owner.organizationId, { departmentId: sales.id });
    for (let day = 1; day <= 5; day++) {
      const res = await post(owner.accessToken, customerId, {
        type: 'note',
        body: `note ${day}`,
        occurredAt: `2025-10-0${day}T09:00:00.000Z`,
      });
      expect(res.statusCode).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
      const res = await app.inject({ url: `${url(customerId)}${query}`, headers: bearer(readerToken) });
      expect(res.statusCode).toBe(200);
      const page = res.json<ActivityPage>();
      seen.push(...page.data.map((activity) => activity.body));
      cursor = page.page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['note 5', 'note 4', 'note 3', 'note 2', 'note 1']);
  });

  it("should refuse one customer's cursor on another customer's timeline", async () => {
    const first = await insertCustomer(app, owner.organizationId);
    const second = await insertCustomer(app, owner.organizationId);
    await post(owner.accessToken, first, { type: 'note', body: 'a' });
    await post(owner.accessToken, first, { type: 'note', body: 'b' });
    const page = (
      await app.inject({ url: `${url(first)}?limit=1`, headers: bearer(owner.accessToken) })
    ).json<ActivityPage>();
    const res = await app.inject({
      url: `${url(second)}?limit=1&cursor=${encodeURIComponent(page.page.nextCursor ?? '')}`,
      headers: bearer(owner.accessToken),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ errors: [{ field: 'cursor' }] });
  });

  it('should answer 404 when the customer is deleted, foreign or outside the read scope', async () => {
    const deleted = await insertCustomer(app, owner.organizationId, { deleted: true });
    const other = await registerOwner(app, 'activities-other');
    const foreign = await insertCustomer(app, other.organizationId);
    const inSupport = await insertCustomer(app, owner.organizationId, { departmentId: support.id });
    for (const id of [deleted, foreign]) {
      expect((await app.inject({ url: url(id), headers: bearer(owner.accessToken) })).statusCode).toBe(404);
      expect((await post(owner.accessToken, id, { type: 'note', body: 'x' })).statusCode).toBe(404);
    }
    expect((await app.inject({ url: url(inSupport), headers: bearer(salesEditorToken) })).statusCode).toBe(404);
    expect((await post(salesEditorToken, inSupport, { type: 'note', body: 'x' })).statusCode).toBe(404);
  });

  it('should answer 403 when the caller may read but not update the customer', async () => {
    const customerId = await insertCustomer(app, owner.organizationId, { departmentId: sales.id });
    const res = await post(readerToken, customerId, { type: 'email', body: 'hello' });
    expect(res.statusCode).toBe(403);
    expect((await app.inject({ url: url(customerId), headers: bearer(readerToken) })).statusCode).toBe(200);
  });

  it('should answer 400 naming the fields when type or body is invalid', async () => {
    const customerId = await insertCustomer(app, owner.organizationId);
    const res = await post(owner.accessToken, customerId, { type: 'fax', body: '   ', occurredAt: 'yesterday' });
    expect(res.statusCode).toBe(400);
    const fields = res.json<{ errors: { field: string }[] }>().errors.map((error) => error.field);
    expect(fields).toEqual(expect.arrayContaining(['type', 'body', 'occurredAt']));
  });
});
