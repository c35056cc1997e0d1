import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertDepartment, insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';
import { insertCustomers } from '../factories/customer.factory';

/*
 * A write checks permissions inside its own transaction (where the row is, where it goes). With a pool of one
 * connection, any check that took a second connection would wait on the transaction holding the first until
 * DB_CONNECT_TIMEOUT_MS and answer 503: with a full pool the same happens to every concurrent write.
 */
describe('Permission checks inside a write transaction', () => {
  let app: NestFastifyApplication;
  let owner: TestAccount;
  let dept: { inScope: string; outOfScope: string };

  beforeAll(async () => {
    app = await createTestApp({
      DB_POOL_SIZE: '1',
      DB_CONNECT_TIMEOUT_MS: '2000',
      REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}checks-in-tx:`,
    });
    owner = await registerOwner(app, 'checks-in-tx');
    dept = {
      inScope: (await insertDepartment(app, owner.organizationId, { name: 'in scope' })).id,
      outOfScope: (await insertDepartment(app, owner.organizationId, { name: 'out of scope' })).id,
    };
  });

  afterAll(async () => {
    await app?.close();
  });

  const patch = (id: string, token: string, payload: object) =>
    app.inject({ method: 'PATCH', url: `/api/v1/customers/${id}`, payload, headers: bearer(token) });

  it("should look the department up on the transaction's own connection", async () => {
    const [customer] = await insertCustomers(app, owner.organizationId, [
      { name: 'Pooled', departmentId: dept.inScope },
    ]);
    const response = await patch(customer.id, owner.accessToken, { name: 'Pooled 2' });
    expect(response.statusCode).toBe(200);
    expect(response.json<{ name: string }>().name).toBe('Pooled 2');
  });

  it('should look the destination department up on the same connection when a customer moves', async () => {
    const [customer] = await insertCustomers(app, owner.organizationId, [
      { name: 'Moving', departmentId: dept.inScope },
    ]);
    const response = await patch(customer.id, owner.accessToken, { departmentId: dept.outOfScope });
    expect(response.statusCode).toBe(200);
    expect(response.json<{ departmentId: string }>().departmentId).toBe(dept.outOfScope);
  });

  it('should answer 403 and record the denial once the transaction has given its connection back', async () => {
    const roleId = await insertRole(app, owner.organizationId, ['customers:read', 'customers:update']);
    const readerRoleId = await insertRole(app, owner.organizationId, ['customers:read']);
    const member = await insertMember(app, owner.organizationId, {
      assignments: [
        { roleId, departmentId: dept.inScope },
        { roleId: readerRoleId, departmentId: dept.outOfScope },
      ],
    });
    const token = await loginAs(app, member.email);
    const [customer] = await insertCustomers(app, owner.organizationId, [
      { name: 'Read only here', departmentId: dept.outOfScope },
    ]);

    expectProblem(await patch(customer.id, token, { name: 'Nope' }), 403, 'permission-denied');

    const denials = await app
      .get(DataSource)
      .query<{ details: { permission: string; departmentId: string } }[]>(
        `SELECT details FROM audit_logs WHERE actor_id = $1 AND action = 'permission.denied'`,
        [member.id],
      );
    expect(denials.map((row) => row.details)).toEqual([
      { permission: 'customers:update', departmentId: dept.outOfScope },
    ]);
    const [unchanged] = await app
      .get(DataSource)
      .query<{ name: string }[]>('SELECT name FROM customers WHERE id = $1', [customer.id]);
    expect(unchanged.name).toBe('Read only here');
  });
});
