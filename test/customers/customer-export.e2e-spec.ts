import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { parseCsv } from '../../src/core/csv/csv-parser';
import { CUSTOMER_EXPORT_BATCH_SIZE } from '../../src/modules/customers/customer-export.service';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertDepartment, insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { createTestApp } from '../helpers/test-app';
import { insertCustomer } from './customer-fixtures';

describe('Customer CSV export (GET /customers/export)', () => {
  let app: NestFastifyApplication;
  let owner: TestAccount;
  let sales: { id: string };
  let east: { id: string };
  let salesReaderToken: string;

  const exportCsv = async (query = '', token = owner.accessToken): Promise<string[][]> => {
    const res = await app.inject({ url: `/api/v1/customers/export${query}`, headers: bearer(token) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    return parseCsv(res.body);
  };
  const names = (rows: string[][]): string[] => rows.slice(1).map((row) => row[1]);

  beforeAll(async () => {
    app = await createTestApp();
    owner = await registerOwner(app, 'export');
    const org = owner.organizationId;
    sales = await insertDepartment(app, org, { name: 'Sales' });
    east = await insertDepartment(app, org, { name: 'East', parentId: sales.id });
    const support = await insertDepartment(app, org, { name: 'Support' });
    const readRole = await insertRole(app, org, ['customers:read']);
    const reader = await insertMember(app, org, {
      label: 'sales-reader',
      assignments: [{ roleId: readRole, departmentId: sales.id }],
    });
    salesReaderToken = await loginAs(app, reader.email);

    await insertCustomer(app, org, {
      name: 'Alpha',
      email: 'alpha@example.com',
      company: 'Acme, Inc.',
      status: 'active',
      tags: ['vip', 'b2b'],
      ownerId: owner.userId,
      departmentId: sales.id,
      createdAt: new Date('2025-01-01T00:00:00.000Z'),
    });
    await insertCustomer(app, org, {
      name: '=HYPERLINK("http://evil.example")',
      email: null,
      phone: '+1 555',
      status: 'lead',
      departmentId: east.id,
      createdAt: new Date('2025-01-02T00:00:00.000Z'),
    });
    await insertCustomer(app, org, {
      name: 'Support Co',
      status: 'churned',
      tags: ['vip'],
      departmentId: support.id,
      createdAt: new Date('2025-01-03T00:00:00.000Z'),
    });
    await insertCustomer(app, org, { name: 'Org Level', createdAt: new Date('2025-01-04T00:00:00.000Z') });
    await insertCustomer(app, org, { name: 'Deleted', deleted: true });
  });

  afterAll(async () => {
    await app.close();
  });

  it('should write a header and every live customer oldest first with escaping when there are no filters', async () => {
    const rows = await exportCsv();
    expect(rows[0]).toEqual([
      'id',
      'name',
      'email',
      'phone',
      'company',
      'status',
      'tags',
      'ownerId',
      'departmentId',
      'createdAt',
      'updatedAt',
    ]);
    expect(names(rows)).toEqual(['Alpha', `'=HYPERLINK("http://evil.example")`, 'Support Co', 'Org Level']);
    expect(rows[1].slice(1, 10)).toEqual([
      'Alpha',
      'alpha@example.com',
      '',
      'Acme, Inc.',
      'active',
      'vip;b2b',
      owner.userId,
      sales.id,
      '2025-01-01T00:00:00.000Z',
    ]);
    // Phone numbers starting with + would be formulas too.
    expect(rows[2][3]).toBe("'+1 555");
  });

  it('should export only readable departments when the caller has a department grant', async () => {
    expect(names(await exportCsv('', salesReaderToken))).toEqual(['Alpha', `'=HYPERLINK("http://evil.example")`]);
  });

  it('should apply status, owner, department subtree, tag and q filters when given', async () => {
    expect(names(await exportCsv('?status=churned,lead'))).toEqual([
      `'=HYPERLINK("http://evil.example")`,
      'Support Co',
      'Org Level',
    ]);
    expect(names(await exportCsv(`?ownerId=${owner.userId}`))).toEqual(['Alpha']);
    expect(names(await exportCsv(`?departmentId=${sales.id}`))).toEqual([
      'Alpha',
      `'=HYPERLINK("http://evil.example")`,
    ]);
    expect(names(await exportCsv(`?departmentId=${east.id}`))).toEqual([`'=HYPERLINK("http://evil.example")`]);
    expect(names(await exportCsv('?tag=vip'))).toEqual(['Alpha', 'Support Co']);
    expect(names(await exportCsv('?tag=vip&tag=b2b'))).toEqual(['Alpha']);
    expect(names(await exportCsv('?q=ACME'))).toEqual(['Alpha']);
    expect(names(await exportCsv('?q=%25'))).toEqual([]);
  });

  it('should stream every row exactly once when the export spans several batches', async () => {
    const other = await registerOwner(app, 'export-many');
    const total = CUSTOMER_EXPORT_BATCH_SIZE * 2 + 5;
    for (let index = 0; index < total; index++) {
      await insertCustomer(app, other.organizationId, { name: `Bulk ${index}`, email: null });
    }
    const rows = await exportCsv('', other.accessToken);
    expect(rows).toHaveLength(total + 1);
    expect(new Set(rows.slice(1).map((row) => row[0])).size).toBe(total);
  });

  it('should answer 400 naming the field when a filter is invalid', async () => {
    const res = await app.inject({ url: '/api/v1/customers/export?status=gold', headers: bearer(owner.accessToken) });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ errors: [{ field: 'status' }] });
  });
});
