import { getQueueToken } from '@nestjs/bullmq';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { PERMISSION_DESCRIPTIONS } from '../../src/modules/rbac/permission-catalog';
import type { SystemRoleKey } from '../../src/modules/rbac/system-roles';
import { TEST_PASSWORD } from '../helpers/auth';
import { insertMember, insertRole, loginAs, type AssignmentFixture } from '../helpers/fixtures';
import { createTestApp } from '../helpers/test-app';
import { expectNoInternals } from './support/expect';
import { ROUTE_FIXTURES, type AttackTarget } from './support/object-fixtures';
import { apiRoutes, urlOf, type ApiRoute } from './support/route-table';
import { PERMISSION_ROUTE_REQUESTS } from './support/requests';
import { OrgFixture, send, type Json, type RequestBody } from './support/world';

/*
 * The role × route matrix, generated from the route table: for every route with @RequirePermission(p), a
 * caller holding every permission but p gets 403 naming p, and a caller holding exactly p gets past
 * authorization (any answer but 401/403: the request is valid and the objects real, so what is left is the
 * route's own logic). The five system roles are checked against their documented grants, written out below
 * by hand: a change to a system role has to change this table too.
 */

const REQUESTS = PERMISSION_ROUTE_REQUESTS;

/** Deletes the caller's organization: tested on its own, in organizations of its own. */
const DELETE_ORGANIZATION = 'DELETE /api/v1/organizations/current';

const ALL_PERMISSIONS = Object.keys(PERMISSION_DESCRIPTIONS).sort();

/** The documented grants of the system roles (DESIGN.md §3, README "Permissions"), as permission keys. */
const SYSTEM_ROLE_GRANTS: Record<SystemRoleKey, readonly string[]> = {
  owner: ALL_PERMISSIONS,
  admin: [
    'organizations:read',
    'organizations:update',
    'users:read',
    'users:create',
    'users:update',
    'roles:read',
    'roles:create',
    'roles:update',
    'roles:delete',
    'roles:assign',
    'departments:read',
    'departments:create',
    'departments:update',
    'departments:delete',
    'customers:read',
    'customers:create',
    'customers:update',
    'customers:delete',
    'posts:read',
    'posts:create',
    'posts:update',
    'posts:delete',
    'posts:publish',
    'media:read',
    'media:create',
    'media:delete',
    'audit:read',
  ],
  manager: [
    'users:read',
    'roles:read',
    'departments:read',
    'customers:read',
    'customers:create',
    'customers:update',
    'customers:delete',
    'posts:read',
    'posts:create',
    'posts:update',
    'posts:delete',
    'posts:publish',
    'media:read',
    'media:create',
    'media:delete',
    'audit:read',
  ],
  agent: [
    'users:read',
    'departments:read',
    'customers:read',
    'customers:create',
    'customers:update',
    'posts:read',
    'posts:create',
    'posts:update',
    'media:read',
    'media:create',
  ],
  viewer: ALL_PERMISSIONS.filter((permission) => permission.endsWith(':read')),
};

type PermissionRoute = ApiRoute & { access: { kind: 'permission'; permission: string } };

const isPermissionRoute = (route: ApiRoute): route is PermissionRoute => route.access.kind === 'permission';

interface Caller {
  label: string;
  token: string;
  /** Whether the caller is meant to pass the guard on this permission. */
  allowed: (permission: string) => boolean;
}

describe('API5:2023 Broken Function Level Authorization — ASVS 5.0 V8.2.1 (function-level access), V8.1.1', () => {
  let app: NestFastifyApplication;
  let routes: PermissionRoute[];
  let org: OrgFixture;
  let department: string;

  async function memberWith(label: string, assignments: AssignmentFixture[], orgId = org.id): Promise<string> {
    const member = await insertMember(app, orgId, { label, assignments });
    return loginAs(app, member.email);
  }

  async function roleMember(label: string, permissions: string[], orgId = org.id): Promise<string> {
    const roleId = await insertRole(app, orgId, permissions, `${label}-${randomBytes(3).toString('hex')}`);
    return memberWith(label, [{ roleId }], orgId);
  }

  /** The request a route gets: real objects of `org` for path parameters, a valid body. */
  async function requestFor(route: PermissionRoute, target = org): Promise<{ url: string; body?: RequestBody }> {
    const fixture = ROUTE_FIXTURES[route.key];
    if (route.params.length) {
      if (fixture?.kind !== 'object') throw new Error(`${route.key}: no object fixture in ROUTE_FIXTURES`);
      const built: AttackTarget = await fixture.build(target, department);
      return { url: urlOf(route, built.params, built.query), body: built.body };
    }
    const make = REQUESTS[route.key];
    if (!make && route.method !== 'GET' && route.method !== 'DELETE')
      throw new Error(`${route.key}: add a valid request to PERMISSION_ROUTE_REQUESTS in support/requests.ts`);
    const { body, query } = make ? make(target) : {};
    return { url: urlOf(route, {}, query), body };
  }

  /** Every caller on one route; mismatches are collected, not thrown, so one run shows the whole matrix. */
  async function checkRoute(route: PermissionRoute, callers: Caller[], mismatches: string[]): Promise<void> {
    const { permission } = route.access;
    const { url, body } = await requestFor(route);
    // Refusals first: a permitted call may delete the object the others are refused on.
    const ordered = [...callers].sort((a, b) => Number(a.allowed(permission)) - Number(b.allowed(permission)));
    for (const caller of ordered) {
      const res = await send(app, route.method, url, caller.token, body);
      expectNoInternals(res.body, `${route.key} as ${caller.label}`);
      if (caller.allowed(permission)) {
        if ([401, 403].includes(res.statusCode) || res.statusCode >= 500)
          mismatches.push(
            `${route.key} as ${caller.label}: expected to pass authorization, got ${res.statusCode} ${res.body}`,
          );
      } else {
        const problem = res.statusCode === 403 ? res.json<{ type: string; permission?: string }>() : null;
        if (problem?.type !== 'urn:atrium:problem:permission-denied' || problem.permission !== permission)
          mismatches.push(
            `${route.key} as ${caller.label}: expected 403 naming ${permission}, got ${res.statusCode} ${res.body}`,
          );
      }
    }
  }

  beforeAll(async () => {
    app = await createTestApp();
    routes = apiRoutes(app).filter(isPermissionRoute);
    org = await OrgFixture.create(app, 'matrix');
    department = await org.department();
  });

  afterAll(async () => {
    await app.close();
  });

  it('should know every permission a route declares, and find the routes of every service', () => {
    const declared = [...new Set(routes.map((route) => route.access.permission))];
    expect(declared.filter((permission) => !ALL_PERMISSIONS.includes(permission))).toEqual([]);
    expect(routes.length).toBeGreaterThan(50);
  });

  it('should answer 403 naming p to a caller holding every permission but p, and pass a caller holding exactly p', async () => {
    const mismatches: string[] = [];
    const permissions = [...new Set(routes.map((route) => route.access.permission))];
    const callers = new Map<string, Caller[]>();
    for (const permission of permissions) {
      callers.set(permission, [
        {
          label: `all but ${permission}`,
          token: await roleMember(
            'all-but',
            ALL_PERMISSIONS.filter((p) => p !== permission),
          ),
          allowed: () => false,
        },
        { label: `exactly ${permission}`, token: await roleMember('exactly', [permission]), allowed: () => true },
      ]);
    }
    for (const route of routes.filter((r) => r.key !== DELETE_ORGANIZATION)) {
      await checkRoute(route, callers.get(route.access.permission) ?? [], mismatches);
    }
    expect(mismatches).toEqual([]);
  });

  it('should give the system roles (organization-wide) exactly their documented grants on every route', async () => {
    const mismatches: string[] = [];
    const callers: Caller[] = [];
    for (const [role, grants] of Object.entries(SYSTEM_ROLE_GRANTS) as [SystemRoleKey, readonly string[]][]) {
      callers.push({
        label: role,
        token: await memberWith(role, [{ roleKey: role }]),
        allowed: (permission) => grants.includes(permission),
      });
    }
    for (const route of routes.filter((r) => r.key !== DELETE_ORGANIZATION)) {
      await checkRoute(route, callers, mismatches);
    }
    expect(mismatches).toEqual([]);
  });

  it('should let only organizations:delete (organization-wide) delete the organization', async () => {
    const victim = await OrgFixture.create(app, 'matrix-delete');
    const refused = await Promise.all([
      roleMember(
        'all-but',
        ALL_PERMISSIONS.filter((p) => p !== 'organizations:delete'),
        victim.id,
      ),
      ...(['admin', 'manager', 'agent', 'viewer'] as const).map((role) =>
        memberWith(role, [{ roleKey: role }], victim.id),
      ),
    ]);
    for (const token of refused) {
      const res = await send(app, 'DELETE', '/api/v1/organizations/current', token);
      expect({ status: res.statusCode, permission: res.json<{ permission?: string }>().permission }).toEqual({
        status: 403,
        permission: 'organizations:delete',
      });
    }
    const exactly = await roleMember('exactly', ['organizations:delete'], victim.id);
    expect((await send(app, 'DELETE', '/api/v1/organizations/current', exactly)).statusCode).toBe(204);
    expect(
      (
        await send(app, 'POST', '/api/v1/auth/login', null, {
          json: { email: victim.owner.email, password: TEST_PASSWORD },
        })
      ).statusCode,
    ).toBe(401);
  });

  describe('organization-level routes: a department grant is never enough (ASVS V8.2.1, V8.4.1)', () => {
    /** Services whose resources no department owns: the organization, its audit trail, its system pings. */
    const ORGANIZATION_LEVEL = /^(organizations|audit):/;

    it('should answer 403 to a caller holding the permission on a department only', async () => {
      const victim = await OrgFixture.create(app, 'matrix-scope');
      const place = await victim.department();
      const mismatches: string[] = [];
      for (const route of routes.filter((r) => ORGANIZATION_LEVEL.test(r.access.permission))) {
        const { permission } = route.access;
        const roleId = await insertRole(app, victim.id, [permission], `dept-${randomBytes(3).toString('hex')}`);
        const token = await memberWith('dept-scoped', [{ roleId, departmentId: place }], victim.id);
        const { url, body } = await requestFor(route, victim);
        const res = await send(app, route.method, url, token, body);
        if (res.statusCode !== 403)
          mismatches.push(`${route.key} with ${permission} on a department: ${res.statusCode} ${res.body}`);
      }
      expect(mismatches).toEqual([]);
      // The organization survived every attempt (DELETE /organizations/current included).
      expect((await send(app, 'GET', '/api/v1/organizations/current', victim.owner.accessToken)).statusCode).toBe(200);
    });
  });

  describe('the queue dashboard spans every tenant: no tenant may read or act on another tenant’s jobs (ASVS V8.4.1)', () => {
    let dashboard: NestFastifyApplication;
    let mail: Queue;
    let operator: OrgFixture;

    beforeAll(async () => {
      // A Redis prefix of its own: the mail queue holds only this test's jobs, and no worker takes them.
      const env = {
        QUEUE_DASHBOARD_ENABLED: 'true',
        REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}security-dashboard:`,
      };
      const setup = await createTestApp(env);
      operator = await OrgFixture.create(setup, 'dash-operator');
      await setup.close();
      dashboard = await createTestApp({ ...env, QUEUE_DASHBOARD_ORGANIZATIONS: operator.owner.organizationId });
      mail = dashboard.get<Queue>(getQueueToken('mail'), { strict: false });
    });

    afterAll(async () => {
      await dashboard.close();
    });

    it('should keep every tenant’s owner out of the dashboard, which spans all tenants', async () => {
      const tenant = await OrgFixture.create(dashboard, 'dash-tenant');
      for (const url of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/api/queues/mail/pause']) {
        const res = await dashboard.inject({
          method: url.endsWith('pause') ? 'PUT' : 'GET',
          url,
          headers: { authorization: `Bearer ${tenant.owner.accessToken}` },
        });
        expect({ url, status: res.statusCode }).toEqual({ url, status: 403 });
      }
    });

    it('should show operators another tenant’s queued password-reset mail without its recipient or code, and refuse every action', async () => {
      const victim = await OrgFixture.create(dashboard, 'dash-victim');
      const attacker = operator;
      await send(dashboard, 'POST', '/api/v1/auth/otp/request', null, {
        json: { email: victim.owner.email, purpose: 'reset_password' },
      });
      const [job] = await mail.getJobs(['waiting', 'delayed', 'prioritized']);
      const queued = job.data as { payload: { to: string; text: string } };
      expect(queued.payload.to).toBe(victim.owner.email);
      const code = /\b(\d{6})\b/.exec(queued.payload.text)?.[1] ?? '';
      expect(code).toMatch(/^\d{6}$/);

      const as = (method: 'GET' | 'PUT' | 'POST' | 'PATCH', url: string, payload?: Json) =>
        dashboard.inject({
          method,
          url: `/admin/queues${url}`,
          headers: { authorization: `Bearer ${attacker.owner.accessToken}` },
          ...(payload ? { payload } : {}),
        });
      const list = await as('GET', '/api/queues?activeQueue=mail&status=latest&page=1');
      expect(list.statusCode).toBe(200);
      expect(list.body).toContain('password reset');
      for (const leaked of [victim.owner.email, code]) expect(list.body).not.toContain(leaked);
      const detail = await as('GET', `/api/queues/mail/${job.id}`);
      for (const leaked of [victim.owner.email, code]) expect(detail.body).not.toContain(leaked);

      const actions: [string, 'PUT' | 'POST' | 'PATCH', string, Json?][] = [
        [
          'redirect the mail',
          'PATCH',
          `/api/queues/mail/${job.id}/update-data`,
          { payload: { to: attacker.owner.email } },
        ],
        [
          'send a mail as the app',
          'POST',
          '/api/queues/mail/add',
          { name: 'send', data: { payload: { to: 'x@example.test', subject: 's', text: 't' } } },
        ],
        ['pause every tenant’s mail', 'PUT', '/api/queues/mail/pause'],
        ['empty the queue', 'PUT', '/api/queues/mail/empty'],
        ['obliterate the queue', 'PUT', '/api/queues/mail/obliterate'],
        ['remove the job', 'PUT', `/api/queues/mail/${job.id}/clean`],
        ['retry failed jobs', 'PUT', '/api/queues/mail/retry/failed'],
      ];
      for (const [what, method, url, payload] of actions) {
        const res = await as(method, url, payload);
        expect({ what, refused: res.statusCode >= 400 && res.statusCode < 500 }).toEqual({ what, refused: true });
      }
      // "Pause all" skips read-only queues: it may answer 200, but nothing is paused.
      await as('PUT', '/api/queues/pause');
      for (const name of ['mail', 'system', 'customers', 'posts', 'audit']) {
        const queue = dashboard.get<Queue>(getQueueToken(name), { strict: false });
        expect({ name, paused: await queue.isPaused() }).toEqual({ name, paused: false });
      }
      expect((await mail.getJob(String(job.id)))?.data).toEqual(job.data);
      expect(await mail.count()).toBe(1);
    });
  });
});
