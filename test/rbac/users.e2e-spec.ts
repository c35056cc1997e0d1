import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import { otpMail } from '../../src/core/mail/mail-message';
import type { UserStatus } from '../../src/modules/users/user.entity';
import { bearer, registerOwner, TEST_PASSWORD, uniqueEmail, type TestAccount } from '../helpers/auth';
import { insertAssignment, insertDepartment, insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { expectProblem } from '../helpers/problem';
import { startSmtpCapture, type SmtpCapture } from '../helpers/smtp-capture';
import { createTestApp, createTestWorker } from '../helpers/test-app';

interface UserBody {
  id: string;
  email: string;
  name: string;
  status: string;
  departmentId: string | null;
  version: number;
}

interface PageBody {
  data: UserBody[];
  page: { limit: number; nextCursor: string | null; hasMore: boolean };
}

type DeptName = 'root' | 'child' | 'grandchild' | 'sibling';
const PARENT: Record<DeptName, DeptName | null> = { root: null, child: 'root', grandchild: 'child', sibling: null };

const INVITE_SUBJECT = otpMail('invite', '000000', 10, 'http://unused').subject;

/** Never any secret in a user response, whatever the route. */
function expectNoSecrets(res: LightMyRequestResponse): void {
  expect(res.body).not.toMatch(/passwordHash|password_hash|totpSecret|totp_secret|\$2[aby]\$/);
}

describe('User administration', () => {
  let capture: SmtpCapture;
  let app: NestFastifyApplication;
  let worker: INestApplicationContext;
  let db: DataSource;
  let owner: TestAccount;
  let stranger: TestAccount;
  const dept = {} as Record<DeptName, string>;
  // A distinct tag per run keeps `q` filters to this file's rows.
  const tag = randomUUID().slice(0, 8);

  beforeAll(async () => {
    capture = await startSmtpCapture();
    const env: RawEnv = {
      REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}users:`,
      SMTP_URL: `smtp://${capture.host}:${capture.port}`,
    };
    app = await createTestApp(env);
    worker = await createTestWorker(env);
    db = app.get(DataSource);
    owner = await registerOwner(app, 'users-admin');
    stranger = await registerOwner(app, 'users-stranger');
    for (const name of ['root', 'child', 'grandchild', 'sibling'] as DeptName[]) {
      const parent = PARENT[name];
      dept[name] = (await insertDepartment(app, owner.organizationId, { name, parentId: parent && dept[parent] })).id;
    }
  });

  afterAll(async () => {
    await worker?.close();
    await app?.close();
    await capture?.close();
  });

  const api = (method: 'GET' | 'POST' | 'PATCH', url: string, token: string, payload?: object, headers = {}) =>
    app.inject({ method, url: `/api/v1${url}`, payload, headers: { ...bearer(token), ...headers } });
  const login = (email: string, password = TEST_PASSWORD) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });

  /** A user of the owner's organization, in `department` when given. */
  const insertUser = (
    name: string,
    options: { department?: DeptName | null; status?: UserStatus; createdAt?: Date; email?: string } = {},
  ) =>
    insertMember(app, owner.organizationId, {
      name,
      email: options.email,
      status: options.status,
      createdAt: options.createdAt,
      departmentId: options.department ? dept[options.department] : null,
    });

  /** A member holding `permissions` at `scope`, logged in; grants are set before their first request. */
  async function memberWith(permissions: string[], scope: DeptName | null, home: DeptName | null = scope) {
    const roleId = await insertRole(app, owner.organizationId, permissions);
    const user = await insertMember(app, owner.organizationId, {
      name: `Grantee ${tag}-${randomUUID().slice(0, 4)}`,
      departmentId: home ? dept[home] : null,
      assignments: [{ roleId, departmentId: scope ? dept[scope] : null }],
    });
    return { ...user, token: await loginAs(app, user.email) };
  }

  /** Every row of a list, following nextCursor; asserts each page's shape on the way. */
  async function walk(token: string, query: string, limit = 2): Promise<UserBody[]> {
    const rows: UserBody[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const url = `/users?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await api('GET', url, token);
      expect(res.statusCode).toBe(200);
      expectNoSecrets(res);
      const body = res.json<PageBody>();
      expect(body.data.length).toBeLessThanOrEqual(limit);
      rows.push(...body.data);
      expect(body.page.hasMore).toBe(body.page.nextCursor !== null);
      if (!body.page.hasMore) return rows;
      cursor = body.page.nextCursor;
    }
    throw new Error('too many pages');
  }

  describe('GET /users', () => {
    const pager: { id: string; name: string; email: string; createdAt: Date }[] = [];

    beforeAll(async () => {
      const names = ['delta', 'alpha', 'echo', 'charlie', 'bravo', 'golf', 'foxtrot'];
      for (const [index, word] of names.entries()) {
        const createdAt = new Date(Date.UTC(2020, 0, 1, 0, 0, index));
        const name = `pager-${tag}-${word}`;
        // Emails sort in another order than names, so the two sorts are told apart.
        const email = `${String.fromCharCode(122 - index)}-${tag}@atrium.test`;
        const user = await insertUser(name, { email, createdAt, department: index % 2 ? 'child' : null });
        pager.push({ ...user, name, createdAt });
      }
    });

    const ids = (rows: { id: string }[]) => rows.map((row) => row.id);

    it.each([
      ['createdAt', (a: (typeof pager)[0], b: (typeof pager)[0]) => a.createdAt.getTime() - b.createdAt.getTime()],
      ['name', (a: (typeof pager)[0], b: (typeof pager)[0]) => a.name.localeCompare(b.name)],
      ['email', (a: (typeof pager)[0], b: (typeof pager)[0]) => a.email.localeCompare(b.email)],
    ])('should walk every page in order without repeats when sorted by %s both ways', async (field, compare) => {
      const ascending = [...pager].sort(compare);
      expect(ids(await walk(owner.accessToken, `q=pager-${tag}&sort=${field}`))).toEqual(ids(ascending));
      expect(ids(await walk(owner.accessToken, `q=pager-${tag}&sort=-${field}`, 3))).toEqual(
        ids([...ascending].reverse()),
      );
    });

    it('should default to newest first and refuse unknown sorts and tampered cursors', async () => {
      const first = await api('GET', `/users?q=pager-${tag}&limit=3`, owner.accessToken);
      expect(ids(first.json<PageBody>().data)).toEqual(ids([...pager].reverse().slice(0, 3)));
      expectProblem(await api('GET', '/users?sort=passwordHash', owner.accessToken), 400, 'validation-failed');
      const cursor = first.json<PageBody>().page.nextCursor ?? '';
      expectProblem(
        await api('GET', `/users?q=pager-${tag}&sort=name&cursor=${cursor}`, owner.accessToken),
        400,
        'validation-failed',
      );
      expectProblem(
        await api('GET', `/users?cursor=${cursor.slice(0, -2)}xx`, owner.accessToken),
        400,
        'validation-failed',
      );
    });

    it('should filter by one or more statuses when given status', async () => {
      const invited = await insertUser(`status-${tag}-invited`, { status: 'invited' });
      const disabled = await insertUser(`status-${tag}-disabled`, { status: 'disabled' });
      const active = await insertUser(`status-${tag}-active`);
      const list = async (query: string) => ids(await walk(owner.accessToken, `q=status-${tag}&${query}`)).sort();
      expect(await list('status=invited')).toEqual([invited.id]);
      expect(await list('status=invited&status=disabled')).toEqual([invited.id, disabled.id].sort());
      expect(await list('status=active,disabled')).toEqual([active.id, disabled.id].sort());
      expectProblem(await api('GET', '/users?status=deleted', owner.accessToken), 400, 'validation-failed');
    });

    it('should include the whole subtree when filtered by departmentId', async () => {
      const inRoot = await insertUser(`tree-${tag}-root`, { department: 'root' });
      const inChild = await insertUser(`tree-${tag}-child`, { department: 'child' });
      const inGrandchild = await insertUser(`tree-${tag}-grandchild`, { department: 'grandchild' });
      const inSibling = await insertUser(`tree-${tag}-sibling`, { department: 'sibling' });
      await insertUser(`tree-${tag}-org`);
      const list = async (department: string) =>
        ids(await walk(owner.accessToken, `q=tree-${tag}&departmentId=${department}`)).sort();
      expect(await list(dept.root)).toEqual([inRoot.id, inChild.id, inGrandchild.id].sort());
      expect(await list(dept.child)).toEqual([inChild.id, inGrandchild.id].sort());
      expect(await list(dept.sibling)).toEqual([inSibling.id]);
      // Another organization's department is no department here.
      const foreign = await api('POST', '/departments', stranger.accessToken, { name: 'Foreign' });
      const foreignId = foreign.statusCode === 201 ? foreign.json<{ id: string }>().id : randomUUID();
      expect(await list(foreignId)).toEqual([]);
    });

    it('should list holders of a role when filtered by roleId', async () => {
      const role = await insertRole(app, owner.organizationId, ['posts:read']);
      const holder = await insertUser(`role-${tag}-holder`, { department: 'child' });
      const scopedHolder = await insertUser(`role-${tag}-scoped`);
      await insertUser(`role-${tag}-none`);
      await insertAssignment(app, owner.organizationId, holder.id, { roleId: role });
      await insertAssignment(app, owner.organizationId, scopedHolder.id, { roleId: role, departmentId: dept.sibling });
      expect(ids(await walk(owner.accessToken, `q=role-${tag}&roleId=${role}`)).sort()).toEqual(
        [holder.id, scopedHolder.id].sort(),
      );
      expect(await walk(owner.accessToken, `roleId=${randomUUID()}`)).toEqual([]);
    });

    it('should match q literally and case-insensitively on name or email when q holds % or _', async () => {
      const percent = await insertUser(`Rate ${tag} 100% sure`);
      const notPercent = await insertUser(`Rate ${tag} 1000 sure`);
      const underscore = await insertUser(`snake_${tag}`);
      const notUnderscore = await insertUser(`snakeX${tag}`);
      const byEmail = await insertUser('Somebody', { email: `Mixed.Case-${tag}@atrium.test` });
      const list = async (q: string) => ids(await walk(owner.accessToken, `q=${encodeURIComponent(q)}`)).sort();
      expect(await list(`${tag} 100%`)).toEqual([percent.id]);
      expect(await list(`rate ${tag} 100`)).toEqual([percent.id, notPercent.id].sort());
      expect(await list(`snake_${tag}`)).toEqual([underscore.id]);
      expect(await list(`SNAKE`)).toEqual(expect.arrayContaining([underscore.id, notUnderscore.id]));
      expect(await list(`mixed.CASE-${tag}`)).toEqual([byEmail.id]);
      expect(await list('\\')).toEqual([]);
    });

    it('should show only users in the subtree of a department-scoped reader', async () => {
      const reader = await memberWith(['users:read'], 'child');
      const inChild = await insertUser(`scope-${tag}-child`, { department: 'child' });
      const inGrandchild = await insertUser(`scope-${tag}-grandchild`, { department: 'grandchild' });
      const inRoot = await insertUser(`scope-${tag}-root`, { department: 'root' });
      await insertUser(`scope-${tag}-sibling`, { department: 'sibling' });
      await insertUser(`scope-${tag}-org`);
      expect(ids(await walk(reader.token, `q=scope-${tag}`)).sort()).toEqual([inChild.id, inGrandchild.id].sort());
      // A filter on a wider department does not widen the scope.
      expect(ids(await walk(reader.token, `q=scope-${tag}&departmentId=${dept.root}`)).sort()).toEqual(
        [inChild.id, inGrandchild.id].sort(),
      );
      const everyone = await walk(reader.token, 'sort=email', 100);
      expect(everyone.every((user) => user.departmentId === dept.child || user.departmentId === dept.grandchild)).toBe(
        true,
      );
      expect((await api('GET', `/users/${inGrandchild.id}`, reader.token)).statusCode).toBe(200);
      expectProblem(await api('GET', `/users/${inRoot.id}`, reader.token), 404, 'not-found');
      expectProblem(await api('GET', `/users/${owner.userId}`, reader.token), 404, 'not-found');
    });

    it('should answer 403 when the caller has no users:read anywhere', async () => {
      const nobody = await memberWith(['posts:read'], null);
      expectProblem(await api('GET', '/users', nobody.token), 403, 'permission-denied');
    });
  });

  describe('POST /users (invite)', () => {
    it('should create an invited user and mail an invitation code that sets their password', async () => {
      const email = uniqueEmail('invitee');
      const res = await api('POST', '/users', owner.accessToken, {
        email: email.toUpperCase(),
        name: '  Grace Hopper ',
        departmentId: dept.child,
      });
      expect(res.statusCode).toBe(201);
      expectNoSecrets(res);
      const body = res.json<UserBody>();
      expect(body).toMatchObject({ email, name: 'Grace Hopper', status: 'invited', departmentId: dept.child });
      expect(res.headers.etag).toBe(`"${body.version}"`);
      const [row] = await db.query<{ organization_id: string; password_hash: string | null }[]>(
        'SELECT organization_id, password_hash FROM users WHERE id = $1',
        [body.id],
      );
      expect(row).toEqual({ organization_id: owner.organizationId, password_hash: null });
      const otps = await db.query<unknown[]>(
        "SELECT 1 FROM email_otps WHERE email = $1 AND purpose = 'reset_password' AND consumed_at IS NULL",
        [email],
      );
      expect(otps).toHaveLength(1);

      expectProblem(await login(email), 401, 'invalid-credentials');

      const mail = await capture.waitForMail((m) => m.to.includes(email) && m.subject === INVITE_SUBJECT, 15000);
      const code = /^ {4}(\S+)$/m.exec(mail.text)?.[1] ?? '';
      const reset = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/password/reset',
        payload: { email, code, newPassword: 'invited-Sturdy-lantern-77' },
      });
      expect(reset.statusCode).toBe(204);
      expect((await login(email, 'invited-Sturdy-lantern-77')).statusCode).toBe(200);
      // Setting the first password activates the invitation.
      const [{ status }] = await app.get(DataSource).query('SELECT status FROM users WHERE email = $1', [email]);
      expect(status).toBe('active');
    });

    it('should answer 409 when the email is taken, in this or another organization', async () => {
      const existing = await insertUser('Existing');
      expectProblem(
        await api('POST', '/users', owner.accessToken, { email: existing.email, name: 'Again' }),
        409,
        'email-taken',
      );
      expectProblem(
        await api('POST', '/users', owner.accessToken, { email: stranger.email.toUpperCase(), name: 'Again' }),
        409,
        'email-taken',
      );
    });

    it('should need users:create covering the department, organization-wide without one', async () => {
      const inviter = await memberWith(['users:create', 'users:read'], 'child');
      const ok = await api('POST', '/users', inviter.token, {
        email: uniqueEmail('sub'),
        name: 'Sub',
        departmentId: dept.grandchild,
      });
      expect(ok.statusCode).toBe(201);
      expectProblem(
        await api('POST', '/users', inviter.token, { email: uniqueEmail('x'), name: 'X', departmentId: dept.sibling }),
        403,
        'permission-denied',
      );
      expectProblem(
        await api('POST', '/users', inviter.token, { email: uniqueEmail('x'), name: 'X' }),
        403,
        'permission-denied',
      );
      // Both refusals are in the audit trail, naming the permission and the department asked for.
      const denials = await db.query<{ details: { permission: string; departmentId: string | null } }[]>(
        `SELECT details FROM audit_logs WHERE actor_id = $1 AND action = 'permission.denied' ORDER BY occurred_at, id`,
        [inviter.id],
      );
      expect(denials.map((row) => row.details)).toEqual([
        { permission: 'users:create', departmentId: dept.sibling },
        { permission: 'users:create', departmentId: null },
      ]);
      const missing = expectProblem(
        await api('POST', '/users', owner.accessToken, {
          email: uniqueEmail('x'),
          name: 'X',
          departmentId: randomUUID(),
        }),
        404,
        'not-found',
      );
      expect(missing.field).toBe('departmentId');
      expectProblem(
        await api('POST', '/users', owner.accessToken, { email: 'not-an-email', name: '' }),
        400,
        'validation-failed',
      );
    });
  });

  describe('GET /users/:id and PATCH /users/:id', () => {
    it('should return the user with an ETag and without secrets, even when they have 2FA', async () => {
      const user = await insertUser('With secrets', { department: 'root' });
      await db.query("UPDATE users SET totp_secret = 'sealed-secret', totp_enabled_at = now() WHERE id = $1", [
        user.id,
      ]);
      const res = await api('GET', `/users/${user.id}`, owner.accessToken);
      expect(res.statusCode).toBe(200);
      expectNoSecrets(res);
      expect(res.body).not.toContain('sealed-secret');
      const body = res.json<UserBody & { twoFactorEnabled: boolean }>();
      expect(body).toMatchObject({ id: user.id, email: user.email, departmentId: dept.root, twoFactorEnabled: true });
      expect(res.headers.etag).toBe(`"${body.version}"`);
      expectProblem(await api('GET', '/users/not-a-uuid', owner.accessToken), 400, 'validation-failed');
      expectProblem(await api('GET', `/users/${randomUUID()}`, owner.accessToken), 404, 'not-found');
    });

    it('should rename and move a user, honouring If-Match', async () => {
      const user = await insertUser('Before', { department: 'root' });
      const etag = (await api('GET', `/users/${user.id}`, owner.accessToken)).headers.etag as string;
      const renamed = await api(
        'PATCH',
        `/users/${user.id}`,
        owner.accessToken,
        { name: 'After' },
        { 'if-match': etag },
      );
      expect(renamed.statusCode).toBe(200);
      expectNoSecrets(renamed);
      expect(renamed.json<UserBody>()).toMatchObject({ name: 'After', departmentId: dept.root });
      expect(renamed.headers.etag).not.toBe(etag);

      expectProblem(
        await api('PATCH', `/users/${user.id}`, owner.accessToken, { name: 'Stale' }, { 'if-match': etag }),
        412,
        'version-mismatch',
      );
      const moved = await api('PATCH', `/users/${user.id}`, owner.accessToken, { departmentId: dept.sibling });
      expect(moved.json<UserBody>()).toMatchObject({ name: 'After', departmentId: dept.sibling });
      const toOrg = await api('PATCH', `/users/${user.id}`, owner.accessToken, { departmentId: null });
      expect(toOrg.json<UserBody>().departmentId).toBeNull();
      expectProblem(
        await api('PATCH', `/users/${user.id}`, owner.accessToken, { departmentId: randomUUID() }),
        404,
        'not-found',
      );
      expectProblem(
        await api('PATCH', `/users/${user.id}`, owner.accessToken, { email: 'x@atrium.test' }),
        400,
        'validation-failed',
      );
    });

    it('should need users:update on both the current and the new department when moving', async () => {
      const updater = await memberWith(['users:update', 'users:read'], 'child');
      const reader = await memberWith(['users:read'], 'child');
      const user = await insertUser('Movable', { department: 'grandchild' });
      const moved = await api('PATCH', `/users/${user.id}`, updater.token, { departmentId: dept.child });
      expect(moved.statusCode).toBe(200);
      expect(moved.json<UserBody>().departmentId).toBe(dept.child);
      expectProblem(
        await api('PATCH', `/users/${user.id}`, updater.token, { departmentId: dept.sibling }),
        403,
        'permission-denied',
      );
      expectProblem(
        await api('PATCH', `/users/${user.id}`, updater.token, { departmentId: null }),
        403,
        'permission-denied',
      );
      expectProblem(await api('PATCH', `/users/${user.id}`, reader.token, { name: 'No' }), 403, 'permission-denied');
      const outside = await insertUser('Outside', { department: 'root' });
      expectProblem(await api('PATCH', `/users/${outside.id}`, updater.token, { name: 'No' }), 404, 'not-found');
      expect((await api('GET', `/users/${user.id}`, owner.accessToken)).json<UserBody>().departmentId).toBe(dept.child);
    });
  });

  describe('POST /users/:id/disable and /enable', () => {
    it('should end the user’s sessions at once and refuse their login until enabled', async () => {
      const user = await insertUser('Disposable', { department: 'child' });
      const session = await login(user.email);
      const token = session.json<{ accessToken: string }>().accessToken;
      expect((await app.inject({ url: '/api/v1/auth/me', headers: bearer(token) })).statusCode).toBe(200);

      const disabled = await api('POST', `/users/${user.id}/disable`, owner.accessToken);
      expect(disabled.statusCode).toBe(200);
      expectNoSecrets(disabled);
      expect(disabled.json<UserBody>().status).toBe('disabled');
      expectProblem(await app.inject({ url: '/api/v1/auth/me', headers: bearer(token) }), 401, 'session-revoked');
      expectProblem(await login(user.email), 403, 'account-disabled');
      const live = await db.query<unknown[]>('SELECT 1 FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [
        user.id,
      ]);
      expect(live).toHaveLength(0);

      const enabled = await api('POST', `/users/${user.id}/enable`, owner.accessToken);
      expect(enabled.statusCode).toBe(200);
      expect(enabled.json<UserBody>().status).toBe('active');
      expectProblem(await app.inject({ url: '/api/v1/auth/me', headers: bearer(token) }), 401, 'session-revoked');
      expect((await login(user.email)).statusCode).toBe(200);
    });

    it('should return an invited user to invited when enabled', async () => {
      const invited = await api('POST', '/users', owner.accessToken, { email: uniqueEmail('inv'), name: 'Inv' });
      const id = invited.json<UserBody>().id;
      expect((await api('POST', `/users/${id}/disable`, owner.accessToken)).json<UserBody>().status).toBe('disabled');
      expect((await api('POST', `/users/${id}/enable`, owner.accessToken)).json<UserBody>().status).toBe('invited');
    });

    it('should answer 409 when you disable yourself, and check scope like any update', async () => {
      expectProblem(await api('POST', `/users/${owner.userId}/disable`, owner.accessToken), 409, 'cannot-disable-self');
      const updater = await memberWith(['users:update', 'users:read'], 'child');
      expectProblem(await api('POST', `/users/${updater.id}/disable`, updater.token), 409, 'cannot-disable-self');
      const outside = await insertUser('Outside', { department: 'sibling' });
      expectProblem(await api('POST', `/users/${outside.id}/disable`, updater.token), 404, 'not-found');
      const reader = await memberWith(['users:read'], 'child');
      const inside = await insertUser('Inside', { department: 'child' });
      expectProblem(await api('POST', `/users/${inside.id}/disable`, reader.token), 403, 'permission-denied');
      expect((await api('POST', `/users/${inside.id}/disable`, updater.token)).statusCode).toBe(200);
    });
  });

  describe('cross-organization', () => {
    it('should answer 404 for another organization’s user ids on every route and never list them', async () => {
      const mine = await insertUser(`mine-${tag}`, { department: 'root' });
      for (const [method, url, payload] of [
        ['GET', `/users/${mine.id}`, undefined],
        ['PATCH', `/users/${mine.id}`, { name: 'Hijacked' }],
        ['POST', `/users/${mine.id}/disable`, undefined],
        ['POST', `/users/${mine.id}/enable`, undefined],
      ] as const) {
        expectProblem(await api(method, url, stranger.accessToken, payload), 404, 'not-found');
      }
      expect(await walk(stranger.accessToken, `q=mine-${tag}`)).toEqual([]);
      const theirs = await walk(stranger.accessToken, 'sort=email', 100);
      expect(theirs.map((user) => user.id)).toEqual([stranger.userId]);
      const [row] = await db.query<{ name: string; status: string }[]>('SELECT name, status FROM users WHERE id = $1', [
        mine.id,
      ]);
      expect(row).toEqual({ name: `mine-${tag}`, status: 'active' });
      expectProblem(
        await api('POST', '/users', stranger.accessToken, {
          email: uniqueEmail('x'),
          name: 'X',
          departmentId: dept.root,
        }),
        404,
        'not-found',
      );
    });
  });
});
