import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertDepartment, insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { createTestApp, createTestWorker } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';
import { insertCustomer } from './customer-fixtures';

interface ImportBody {
  id: string;
  status: string;
  totalRows: number;
  processedRows: number;
  failedRows: number;
  importedRows: number;
  errors: { row: number; field: string; message: string }[];
}

// A Redis prefix of this spec's own: its worker must not take other specs' jobs, nor theirs this spec's.
const overrides = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}customer-import:` };

describe('Customer CSV import (POST /customers/import)', () => {
  let api: NestFastifyApplication;
  let worker: INestApplicationContext;
  let owner: TestAccount;

  beforeAll(async () => {
    api = await createTestApp({ ...overrides, CUSTOMER_IMPORT_MAX_BYTES: '65536' });
    worker = await createTestWorker(overrides);
    owner = await registerOwner(api, 'import');
  });

  afterAll(async () => {
    await worker.close();
    await api.close();
  });

  const upload = (csv: string, token = owner.accessToken, query = '') =>
    api.inject({
      method: 'POST',
      url: `/api/v1/customers/import${query}`,
      headers: { ...bearer(token), 'content-type': 'text/csv' },
      payload: csv,
    });

  const finished = (id: string, token = owner.accessToken) =>
    waitFor(
      async () => {
        const res = await api.inject({ url: `/api/v1/customers/imports/${id}`, headers: bearer(token) });
        const body = res.json<ImportBody>();
        return body.status === 'completed' || body.status === 'failed' ? body : undefined;
      },
      { what: `import ${id} to finish` },
    );

  it('should import good rows, report bad ones by row and field, and complete when the file mixes both', async () => {
    await insertCustomer(api, owner.organizationId, { email: 'taken@example.com' });
    const csv = [
      'name,email,phone,company,status,tags',
      'Ada Lovelace,ADA@example.com,+44 20,"Analytical, Ltd",active,vip;b2b',
      ',nobody@example.com,,,lead,',
      'Bad Email,not-an-email,,,lead,',
      'Bad Status,status@example.com,,,gold,',
      'Ada Again,ada@example.com,,,lead,',
      'Taken,taken@example.com,,,lead,',
      '',
      'Grace Hopper,,,"Navy ""Yard""",prospect,',
      'Short,row',
    ].join('\r\n');
    const res = await upload(csv);
    expect(res.statusCode).toBe(202);
    const started = res.json<ImportBody>();
    expect(started).toMatchObject({ status: 'queued', totalRows: 8, processedRows: 0 });

    const done = await finished(started.id);
    expect(done).toMatchObject({ status: 'completed', totalRows: 8, processedRows: 8, failedRows: 6, importedRows: 2 });
    expect(done.errors).toEqual([
      { row: 3, field: 'name', message: 'name is required' },
      { row: 4, field: 'email', message: 'email must be a valid email address' },
      { row: 5, field: 'status', message: 'status must be one of lead, prospect, active, churned' },
      { row: 6, field: 'email', message: 'duplicate email in the file (row 2)' },
      { row: 7, field: 'email', message: 'a customer with this email already exists' },
      { row: 10, field: '*', message: 'expected 6 fields, found 2' },
    ]);

    const rows = await api
      .get(DataSource)
      .query<{ name: string; email: string | null; company: string | null; status: string; tags: string[] }[]>(
        `SELECT name, email::text AS email, company, status, tags FROM customers
          WHERE organization_id = $1 AND name IN ('Ada Lovelace', 'Grace Hopper') ORDER BY name`,
        [owner.organizationId],
      );
    expect(rows).toEqual([
      {
        name: 'Ada Lovelace',
        email: 'ada@example.com',
        company: 'Analytical, Ltd',
        status: 'active',
        tags: ['vip', 'b2b'],
      },
      { name: 'Grace Hopper', email: null, company: 'Navy "Yard"', status: 'prospect', tags: [] },
    ]);

    const audit = await api
      .get(DataSource)
      .query<{ actor_id: string; details: Record<string, unknown> }[]>(
        `SELECT actor_id, details FROM audit_logs WHERE action = 'customers.import' AND resource_id = $1`,
        [started.id],
      );
    expect(audit).toEqual([
      {
        actor_id: owner.userId,
        details: { departmentId: null, totalRows: 8, importedRows: 2, failedRows: 6 },
      },
    ]);
  });

  it('should put the customers into the department when departmentId is given and the caller may create there', async () => {
    const sales = await insertDepartment(api, owner.organizationId, { name: 'Sales' });
    const role = await insertRole(api, owner.organizationId, ['customers:read', 'customers:create']);
    const member = await insertMember(api, owner.organizationId, {
      label: 'importer',
      assignments: [{ roleId: role, departmentId: sales.id }],
    });
    const token = await loginAs(api, member.email);

    expect((await upload('name\r\nOrg level\r\n', token)).statusCode).toBe(403);
    const res = await upload('name\nIn Sales\n', token, `?departmentId=${sales.id}`);
    expect(res.statusCode).toBe(202);
    expect(await finished(res.json<ImportBody>().id, token)).toMatchObject({ status: 'completed', importedRows: 1 });
    const [row] = await api
      .get(DataSource)
      .query<{ department_id: string }[]>('SELECT department_id FROM customers WHERE name = $1', ['In Sales']);
    expect(row.department_id).toBe(sales.id);
  });

  it('should run many batches to completion, cap stored errors and refresh the stats when rows are imported', async () => {
    const org = await registerOwner(api, 'import-many');
    const stats = async () =>
      (await api.inject({ url: '/api/v1/customers/stats', headers: bearer(org.accessToken) })).json<{
        byStatus: Record<string, number>;
      }>();
    expect((await stats()).byStatus.prospect).toBe(0);
    const good = Array.from({ length: 700 }, (_, index) => `Good ${index},prospect`);
    const bad = Array.from({ length: 1100 }, (_, index) => `Bad ${index},gold`);
    const res = await upload(['name,status', ...good, ...bad].join('\n'), org.accessToken);
    expect(res.statusCode).toBe(202);
    const done = await finished(res.json<ImportBody>().id, org.accessToken);
    expect(done).toMatchObject({ status: 'completed', totalRows: 1800, processedRows: 1800, failedRows: 1100 });
    expect(done.errors).toHaveLength(1000);
    expect(done.errors[0]).toMatchObject({ row: 702, field: 'status' });
    expect((await stats()).byStatus.prospect).toBe(700);
  });

  it('should answer 400 naming the header when columns are unknown or name is missing', async () => {
    const res = await upload('email,fax\r\na@example.com,1\r\n');
    expect(res.statusCode).toBe(400);
    expect(res.json<{ errors: { field: string }[] }>().errors.map((error) => error.field)).toEqual([
      'header',
      'header',
    ]);
  });

  it('should answer 400 naming csv when the file is not well-formed CSV or has no rows', async () => {
    const broken = await upload('name\r\n"unterminated\r\n');
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ errors: [{ field: 'csv', message: 'row 2: unterminated quoted field' }] });
    expect((await upload('name\r\n')).statusCode).toBe(400);
  });

  it('should answer 413 when the file is larger than CUSTOMER_IMPORT_MAX_BYTES', async () => {
    const res = await upload(`name\r\n${'x'.repeat(100)}\r\n`.repeat(700));
    expect(res.statusCode).toBe(413);
  });

  it('should answer 415 when the body is not text/csv', async () => {
    const res = await api.inject({
      method: 'POST',
      url: '/api/v1/customers/import',
      headers: bearer(owner.accessToken),
      payload: { csv: 'name\r\nx\r\n' },
    });
    expect(res.statusCode).toBe(415);
  });

  it("should answer 404 for another organization's import", async () => {
    const res = await upload('name\r\nMine\r\n');
    const other = await registerOwner(api, 'import-other');
    const foreign = await api.inject({
      url: `/api/v1/customers/imports/${res.json<ImportBody>().id}`,
      headers: bearer(other.accessToken),
    });
    expect(foreign.statusCode).toBe(404);
  });
});
