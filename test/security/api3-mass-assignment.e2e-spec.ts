import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { createTestApp } from '../helpers/test-app';
import { expectProblemOf } from './support/expect';
import { ROUTE_FIXTURES, type AttackTarget } from './support/object-fixtures';
import {
  openApiDocument,
  operationsOf,
  propertyPaths,
  resolve,
  type OpenApiDocument,
  type Operation,
} from './support/openapi';
import { ACCOUNT_ROUTE_REQUESTS, PERMISSION_ROUTE_REQUESTS } from './support/requests';
import { urlOf, type HttpMethod } from './support/route-table';
import { OrgFixture, send, snapshot, type Json, type Watched } from './support/world';

/*
 * Every operation with a JSON body (from the OpenAPI document, so new routes are included by themselves) gets
 * a valid body plus one privileged field it does not declare. The global ValidationPipe (whitelist +
 * forbidNonWhitelisted) must answer 400 naming exactly that field — proving the rest of the body was valid, so
 * nothing but the extra field stopped it — and nothing in the database may change.
 */

/** Fields a client must never set: identity, tenancy, ownership, lifecycle, privileges, secrets. */
const PRIVILEGED_FIELDS: Record<string, unknown> = {
  id: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
  organizationId: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
  tenantId: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
  userId: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
  authorId: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
  createdBy: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
  uploadedBy: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
  version: 99,
  createdAt: '2000-01-01T00:00:00.000Z',
  updatedAt: '2000-01-01T00:00:00.000Z',
  deletedAt: null,
  publishedAt: '2000-01-01T00:00:00.000Z',
  status: 'active',
  role: 'owner',
  roles: ['owner'],
  permissions: ['*:*'],
  isOwner: true,
  isAdmin: true,
  systemKey: 'owner',
  emailVerified: true,
  emailVerifiedAt: '2000-01-01T00:00:00.000Z',
  twoFactorEnabled: false,
  passwordHash: '$2b$04$abcdefghijklmnopqrstuuTL3Vx6G8/Qg2bJ6O6u2eW2QxHkQ1Jxe',
  totpSecret: 'JBSWY3DPEHPK3PXP',
  failedLogins: 0,
  lockedUntil: null,
  path: '/',
  depth: 0,
  scanStatus: 'clean',
  sha256: '0'.repeat(64),
};

/** Rows whose count per organization must not move while the attempts run. */
const COUNTED_TABLES = [
  'customers',
  'customer_activities',
  'posts',
  'users',
  'departments',
  'roles',
  'role_assignments',
  'sessions',
  'media_uploads',
  'system_pings',
  'organizations',
];

function hasJsonBody(operation: Operation): boolean {
  return Boolean(operation.operation.requestBody?.content['application/json']);
}

describe('API3:2023 Broken Object Property Level Authorization: mass assignment — ASVS 5.0 V15.3.3, V8.2.3', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let document: OpenApiDocument;
  let org: OrgFixture;
  let department: string;

  beforeAll(async () => {
    app = await createTestApp();
    db = app.get(DataSource);
    document = await openApiDocument(app);
    org = await OrgFixture.create(app, 'mass-assign');
    department = await org.department();
  });

  afterAll(async () => {
    await app.close();
  });

  /** A valid request for the operation, on real objects of `org`. */
  async function validRequest(op: Operation): Promise<{ url: string; body: Json; watch: Watched[] }> {
    const fixture = ROUTE_FIXTURES[op.key];
    let target: AttackTarget = { params: {}, watch: [] };
    if (fixture?.kind === 'object') target = await fixture.build(org, department);
    const factory = PERMISSION_ROUTE_REQUESTS[op.key] ?? ACCOUNT_ROUTE_REQUESTS[op.key];
    const made = factory?.(org);
    const body = target.body?.json ?? made?.body?.json;
    if (body === undefined) throw new Error(`${op.key}: no valid JSON body (support/requests.ts or ROUTE_FIXTURES)`);
    return {
      url: urlOf({ path: op.key.split(' ')[1] }, target.params, target.query ?? made?.query),
      body: body as Json,
      watch: target.watch,
    };
  }

  function counts(): Watched[] {
    return COUNTED_TABLES.map((table) => ({
      label: table,
      sql:
        table === 'organizations'
          ? 'SELECT count(*)::int AS v FROM organizations'
          : table === 'customer_activities'
            ? 'SELECT count(*)::int AS v FROM customer_activities'
            : `SELECT count(*)::int AS v FROM ${table} WHERE organization_id = $1`,
      params: table === 'organizations' || table === 'customer_activities' ? [] : [org.id],
    }));
  }

  it('should have a JSON body of its own for every documented JSON operation', () => {
    const operations = operationsOf(document).filter(hasJsonBody);
    expect(operations.length).toBeGreaterThan(25);
    const missing: string[] = [];
    for (const op of operations) {
      if (
        !(op.key in PERMISSION_ROUTE_REQUESTS) &&
        !(op.key in ACCOUNT_ROUTE_REQUESTS) &&
        ROUTE_FIXTURES[op.key]?.kind !== 'object'
      )
        missing.push(op.key);
    }
    expect(missing).toEqual([]);
  });

  it('should answer 400 naming exactly the undeclared privileged field, on every JSON operation, and change nothing', async () => {
    const failures: string[] = [];
    let attempts = 0;
    for (const op of operationsOf(document).filter(hasJsonBody)) {
      const schema = resolve(document, op.operation.requestBody?.content['application/json']?.schema);
      const declared = new Set(propertyPaths(document, schema));
      const { url, body, watch } = await validRequest(op);
      const watched = [...counts(), ...watch];
      const before = await snapshot(db, watched);
      for (const [field, value] of Object.entries(PRIVILEGED_FIELDS)) {
        if (declared.has(field)) continue;
        attempts++;
        const res = await send(app, op.method as HttpMethod, url, org.owner.accessToken, {
          json: { ...body, [field]: value },
        });
        const errors =
          res.statusCode === 400 ? res.json<{ errors?: { field: string; message: string }[] }>().errors : undefined;
        const expected = [{ field, message: `property ${field} should not exist` }];
        if (JSON.stringify(errors) !== JSON.stringify(expected)) {
          failures.push(`${op.key} + ${field}: ${res.statusCode} ${res.body.slice(0, 300)}`);
        } else if (typeof value === 'string' && value.length > 8 && res.body.includes(value)) {
          failures.push(`${op.key} + ${field}: the rejected value is echoed back`);
        }
      }
      const after = await snapshot(db, watched);
      if (JSON.stringify(after) !== JSON.stringify(before)) failures.push(`${op.key}: the database changed`);
    }
    expect(attempts).toBeGreaterThan(500);
    expect(failures).toEqual([]);
  });

  it('should refuse privileged fields nested in a body (scope of a role assignment) naming their path', async () => {
    const member = await org.member(department);
    const roleId = await org.role([]);
    const res = await send(app, 'POST', `/api/v1/users/${member}/roles`, org.owner.accessToken, {
      json: { roleId, scope: { type: 'organization', organizationId: org.id, permissions: ['*:*'] } },
    });
    expectProblemOf(res, 400, 'nested privileged fields');
    const fields = res
      .json<{ errors: { field: string }[] }>()
      .errors.map((error) => error.field)
      .sort();
    expect(fields).toEqual(['scope.organizationId', 'scope.permissions']);
    expect(await db.query('SELECT count(*)::int AS n FROM role_assignments WHERE user_id = $1', [member])).toEqual([
      { n: 0 },
    ]);
  });

  it('should not let a registration choose its organization, role or verification state', async () => {
    const email = `self-made-${Date.now()}@example.test`;
    const res = await send(app, 'POST', '/api/v1/auth/register', null, {
      json: {
        ...(ACCOUNT_ROUTE_REQUESTS['POST /api/v1/auth/register'](org).body?.json as Json),
        email,
        organizationId: org.id,
        role: 'owner',
        emailVerified: true,
      },
    });
    expectProblemOf(res, 400, 'register with privileged fields');
    expect(
      res
        .json<{ errors: { field: string }[] }>()
        .errors.map((e) => e.field)
        .sort(),
    ).toEqual(['emailVerified', 'organizationId', 'role']);
    expect(await db.query('SELECT count(*)::int AS n FROM users WHERE email = $1', [email])).toEqual([{ n: 0 }]);
  });
});
