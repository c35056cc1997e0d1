import { randomBytes } from 'node:crypto';
import { row, type OrgFixture, type RequestBody, type Watched } from './world';

/*
 * THE BOLA FIXTURE TABLE: for every route with a path parameter, how to make a real object it acts on, in any
 * organization. test/security/api1-bola.e2e-spec.ts attacks each route with the objects of another
 * organization and of a department outside the caller's scope, and fails when a route with a path parameter
 * has no entry here (or an entry names a route that no longer exists). A new `:id` route is covered by
 * adding its entry — or, for a route that is not about one object, by an explicit exclusion with its reason.
 */

/** One request on one object: path parameters, body, query, and the rows that must survive an attack unchanged. */
export interface AttackTarget {
  params: Record<string, string>;
  body?: RequestBody;
  query?: string;
  watch: Watched[];
}

export type OutOfScope =
  /** Status a caller with grants on another department only gets. 404: outside the read scope the object does not exist. */
  | { status: number }
  /** Organization-level data readable with the permission anywhere, by the RBAC design; the reason is shown. */
  | { allowedByDesign: string };

export interface ObjectRouteFixture {
  kind: 'object';
  /**
   * Makes the objects in `org`: department-scoped ones in `departmentId` (a department of `org`), which the
   * owner of `org` (organization-wide `*:*`) may do anything with.
   */
  build(org: OrgFixture, departmentId: string): Promise<AttackTarget>;
  /** What the organization's own owner gets for this request on it: the control that the request is right. */
  ok: number;
  /** What another organization's owner gets (services answer 404 "No such resource" for foreign objects). */
  crossTenant: number;
  outOfScope: OutOfScope;
}

/** The path parameter is a credential (a signed link), not an object id: it must not work when guessed. */
export interface CapabilityRouteFixture {
  kind: 'capability';
  build(org: OrgFixture, departmentId: string): Promise<AttackTarget>;
  reason: string;
}

/** Public by design (no token); what it may show is tested in the BOLA spec's public section. */
export interface PublicRouteFixture {
  kind: 'public';
  reason: string;
}

export type RouteFixture = ObjectRouteFixture | CapabilityRouteFixture | PublicRouteFixture;

const name = (prefix: string) => `${prefix} ${randomBytes(4).toString('hex')}`;
const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

const NOT_FOUND = { status: 404 };
const ROLES_ARE_ORGANIZATION_LEVEL: OutOfScope = {
  allowedByDesign:
    'roles are organization-level: roles:read anywhere may read them and the assignments of any member ' +
    '(assignments can target any member, see test/rbac/roles.e2e-spec.ts "confine a department-scoped admin")',
};

function object(
  build: ObjectRouteFixture['build'],
  ok: number,
  outOfScope: OutOfScope = NOT_FOUND,
  crossTenant = 404,
): ObjectRouteFixture {
  return { kind: 'object', build, ok, outOfScope, crossTenant };
}

const customer = (options: { deleted?: boolean } = {}) =>
  async function build(org: OrgFixture, departmentId: string): Promise<AttackTarget> {
    const id = await org.customer(departmentId, options);
    const activities = {
      label: `activities of ${id}`,
      sql: 'SELECT count(*)::int AS v FROM customer_activities WHERE customer_id = $1',
      params: [id],
    };
    return { params: { id }, watch: [row('customers', id), activities] };
  };

const withBody = (build: ObjectRouteFixture['build'], body: () => RequestBody): ObjectRouteFixture['build'] =>
  async function withBodyBuild(org, departmentId) {
    return { ...(await build(org, departmentId)), body: body() };
  };

const post =
  (status: 'draft' | 'published' | 'archived' | 'scheduled' = 'draft') =>
  async (org: OrgFixture, departmentId: string): Promise<AttackTarget> => {
    const created = await org.post(departmentId, status === 'scheduled' ? 'draft' : status);
    if (status === 'scheduled') {
      const res = await org.app.inject({
        method: 'POST',
        url: `/api/v1/posts/${created.id}/schedule`,
        headers: { authorization: `Bearer ${org.owner.accessToken}` },
        payload: { publishAt: inAnHour() },
      });
      if (res.statusCode !== 200) throw new Error(`schedule: ${res.statusCode} ${res.body}`);
    }
    return { params: { id: created.id, slug: created.slug }, watch: [row('posts', created.id)] };
  };

const user = async (org: OrgFixture, departmentId: string): Promise<AttackTarget> => {
  const id = await org.member(departmentId);
  const assignments = {
    label: `assignments of ${id}`,
    sql: 'SELECT count(*)::int AS v FROM role_assignments WHERE user_id = $1',
    params: [id],
  };
  return { params: { id }, watch: [row('users', id), assignments] };
};

const role = async (org: OrgFixture): Promise<AttackTarget> => {
  const id = await org.role(['customers:read', 'posts:read']);
  const permissions = {
    label: `permissions of ${id}`,
    sql: 'SELECT array_agg(permission ORDER BY permission) AS v FROM role_permissions WHERE role_id = $1',
    params: [id],
  };
  return { params: { id }, watch: [row('roles', id), permissions] };
};

const media = async (org: OrgFixture, departmentId: string): Promise<AttackTarget> => {
  const { id } = await org.media(departmentId);
  return { params: { id }, watch: [row('media', id)] };
};

export const ROUTE_FIXTURES: Record<string, RouteFixture> = {
  // auth: a session is its user's own; anyone else's session id does not exist for the caller.
  'DELETE /api/v1/auth/sessions/:id': object(async (org) => {
    const id = await org.session();
    return { params: { id }, watch: [row('sessions', id)] };
  }, 204),

  // customers
  'GET /api/v1/customers/:id': object(customer(), 200),
  'PATCH /api/v1/customers/:id': object(
    withBody(customer(), () => ({ json: { name: name('Renamed'), status: 'churned' } })),
    200,
  ),
  'DELETE /api/v1/customers/:id': object(customer(), 204),
  'POST /api/v1/customers/:id/restore': object(customer({ deleted: true }), 200),
  'GET /api/v1/customers/:id/activities': object(customer(), 200),
  'POST /api/v1/customers/:id/activities': object(
    withBody(customer(), () => ({ json: { type: 'call', body: 'planted by an attacker' } })),
    201,
  ),
  'GET /api/v1/customers/imports/:id': object(async (org, departmentId) => {
    const id = await org.customerImport(departmentId);
    return { params: { id }, watch: [row('customer_imports', id)] };
  }, 200),

  // posts
  'GET /api/v1/posts/:id': object(post(), 200),
  'GET /api/v1/posts/by-slug/:slug': object(post(), 200),
  'PATCH /api/v1/posts/:id': object(
    withBody(post(), () => ({ json: { title: name('Defaced') } })),
    200,
  ),
  'DELETE /api/v1/posts/:id': object(post(), 204),
  'POST /api/v1/posts/:id/publish': object(post(), 200),
  'POST /api/v1/posts/:id/schedule': object(
    withBody(post(), () => ({ json: { publishAt: inAnHour() } })),
    200,
  ),
  'POST /api/v1/posts/:id/unschedule': object(post('scheduled'), 200),
  'POST /api/v1/posts/:id/archive': object(post('published'), 200),
  'POST /api/v1/posts/:id/unarchive': object(post('archived'), 200),

  // users (in the department)
  'GET /api/v1/users/:id': object(user, 200),
  'PATCH /api/v1/users/:id': object(
    withBody(user, () => ({ json: { name: name('Renamed') } })),
    200,
  ),
  'POST /api/v1/users/:id/disable': object(user, 200),
  'POST /api/v1/users/:id/enable': object(user, 200),

  // role assignments of a user (roles are organization-level; the assignment is at the department's scope)
  'GET /api/v1/users/:id/roles': object(user, 200, ROLES_ARE_ORGANIZATION_LEVEL),
  'GET /api/v1/users/:id/effective-permissions': object(user, 200, ROLES_ARE_ORGANIZATION_LEVEL),
  'POST /api/v1/users/:id/roles': object(
    async (org, departmentId) => {
      const target = await user(org, departmentId);
      const roleId = await org.role([]);
      return { ...target, body: { json: { roleId, scope: { type: 'department', departmentId } } } };
    },
    201,
    { status: 403 },
  ),
  'DELETE /api/v1/users/:id/roles/:assignmentId': object(
    async (org, departmentId) => {
      const target = await user(org, departmentId);
      const assignmentId = await org.assignment(target.params.id, await org.role([]), departmentId);
      return {
        params: { ...target.params, assignmentId },
        watch: [...target.watch, row('role_assignments', assignmentId)],
      };
    },
    204,
    // The assignment is readable (roles are organization-level) but out of reach: 403 naming roles:assign.
    { status: 403 },
  ),

  // departments
  'GET /api/v1/departments/:id': object(async (org, departmentId) => {
    const id = await org.department(departmentId);
    return { params: { id }, watch: [row('departments', id)] };
  }, 200),
  'PATCH /api/v1/departments/:id': object(async (org, departmentId) => {
    const id = await org.department(departmentId);
    return { params: { id }, body: { json: { name: name('moved') } }, watch: [row('departments', id)] };
  }, 200),
  'DELETE /api/v1/departments/:id': object(async (org, departmentId) => {
    const id = await org.department(departmentId);
    return { params: { id }, watch: [row('departments', id)] };
  }, 204),

  // roles: organization-level; changing them needs an organization-wide grant (403 for department grants)
  'GET /api/v1/roles/:id': object(role, 200, ROLES_ARE_ORGANIZATION_LEVEL),
  'PATCH /api/v1/roles/:id': object(
    async (org) => ({ ...(await role(org)), body: { json: { name: name('hijacked') } } }),
    200,
    { status: 403 },
  ),
  'PUT /api/v1/roles/:id/permissions': object(
    // Dropping a permission grants nothing new, so roles:update alone may do it (no escalation check trips).
    async (org) => ({ ...(await role(org)), body: { json: { permissions: ['customers:read'] } } }),
    200,
    { status: 403 },
  ),
  'DELETE /api/v1/roles/:id': object(role, 204, { status: 403 }),

  // audit trail and system pings: organization-level, organization-wide grants only
  'GET /api/v1/audit-logs/:id': object(
    async (org) => {
      const id = await org.auditEntry();
      return { params: { id }, watch: [] };
    },
    200,
    { status: 403 },
  ),
  'GET /api/v1/system/pings/:id': object(
    async (org) => {
      const id = await org.ping();
      return { params: { id }, watch: [row('system_pings', id)] };
    },
    200,
    { status: 403 },
  ),

  // ─── MEDIA ──────────────────────────────────────────────────────────────────────────────────────────
  // Media routes (src/modules/media). A new /api/v1/media/... route with a path parameter lands here.
  'GET /api/v1/media/:id': object(media, 200),
  'GET /api/v1/media/:id/url': object(media, 200),
  'DELETE /api/v1/media/:id': object(media, 204),
  'POST /api/v1/media/uploads/:id/complete': object(
    async (org, departmentId) => {
      const id = await org.mediaUpload(departmentId);
      return { params: { id }, watch: [row('media_uploads', id)] };
    },
    // The file never arrived: the rightful caller gets "not yet" (409), which proves the lookup succeeded.
    409,
  ),
  // Local storage links: the path is the signed token. An object key of another organization, or a link
  // edited after signing, must not work.
  'GET /api/v1/storage/local/*': {
    kind: 'capability',
    reason: 'signed, expiring download link handed out by GET /media/:id/url',
    build: async (org, departmentId) => {
      const { id, objectKey } = await org.media(departmentId);
      return { params: { '*': objectKey }, watch: [row('media', id)] };
    },
  },
  'POST /api/v1/storage/local/*': {
    kind: 'capability',
    reason: 'signed, expiring upload policy handed out by POST /media/uploads',
    build: async (org, departmentId) => {
      const id = await org.mediaUpload(departmentId);
      const [upload] = await org.db.query<{ object_key: string }[]>(
        'SELECT object_key FROM media_uploads WHERE id = $1',
        [id],
      );
      return { params: { '*': upload.object_key }, watch: [row('media_uploads', id)] };
    },
  },
  // ─── END MEDIA ──────────────────────────────────────────────────────────────────────────────────────

  // Public reads by organization slug: only published posts, checked in the BOLA spec's public section.
  'GET /api/v1/public/:orgSlug/posts': { kind: 'public', reason: 'published posts of an organization, by design' },
  'GET /api/v1/public/:orgSlug/posts/:slug': { kind: 'public', reason: 'one published post, by design' },
};
