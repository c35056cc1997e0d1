import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuthEvent, type AuthEventPayload } from '../../src/modules/auth/auth.events';
import { bearer, registerOwner, TEST_PASSWORD, uniqueEmail } from '../helpers/auth';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';

describe('Registration and login', () => {
  let app: NestFastifyApplication;
  let events: { name: string; payload: AuthEventPayload }[];

  beforeAll(async () => {
    app = await createTestApp({ LOCKOUT_THRESHOLD: '3', LOCKOUT_BASE_SECONDS: '60' });
    app.get(EventEmitter2).onAny((name: string | string[], payload: AuthEventPayload) => {
      events.push({ name: String(name), payload });
    });
  });

  beforeEach(() => {
    events = [];
  });

  afterAll(async () => {
    await app.close();
  });

  const login = (email: string, password: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });

  describe('POST /auth/register', () => {
    it('should create an organization and its owner and return a token pair', async () => {
      const email = uniqueEmail('reg');
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { organizationName: 'Acme Ltd', name: 'Ada', email: email.toUpperCase(), password: TEST_PASSWORD },
      });
      expect(res.statusCode).toBe(201);
      const body = res.json<Record<string, unknown>>();
      expect(body).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 900,
      });
      const me = await app.inject({ url: '/api/v1/auth/me', headers: bearer(body.accessToken as string) });
      expect(me.json()).toMatchObject({ email, name: 'Ada', status: 'active', twoFactorEnabled: false });
      const org = await app.inject({
        url: '/api/v1/organizations/current',
        headers: bearer(body.accessToken as string),
      });
      expect(org.json()).toMatchObject({
        name: 'Acme Ltd',
        slug: expect.stringMatching(/^acme-ltd/),
        requireTwoFactor: false,
      });
      expect(events.map((e) => e.name)).toContain(AuthEvent.Registered);
    });

    it('should refuse a second account with the same email, in any case', async () => {
      const owner = await registerOwner(app);
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { organizationName: 'Other', name: 'Eve', email: owner.email.toUpperCase(), password: TEST_PASSWORD },
      });
      expectProblem(res, 409, 'email-taken');
    });

    describe('racing another transaction that holds the same slug or email uncommitted', () => {
      let holder: Client;

      beforeEach(async () => {
        holder = new Client({ connectionString: process.env.DATABASE_URL });
        await holder.connect();
        await holder.query('BEGIN');
      });

      afterEach(async () => {
        await holder.query('ROLLBACK').catch(() => undefined);
        await holder.end();
      });

      /** Resolves once a statement waits for the holder's transaction (the request reached the held row). */
      const blockedOnLock = async () => {
        const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
        await waitFor(
          async () => {
            const rows = await app
              .get(DataSource)
              .query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid]);
            return rows.length > 0 ? true : undefined;
          },
          { what: 'the registration to wait on the held row' },
        );
      };

      it('should take a suffixed slug when another registration commits the same one first', async () => {
        const base = `race-${randomUUID().slice(0, 8)}`;
        await holder.query("INSERT INTO organizations (id, name, slug) VALUES (gen_random_uuid(), 'Held', $1)", [base]);
        const pending = app.inject({
          method: 'POST',
          url: '/api/v1/auth/register',
          payload: { organizationName: base, name: 'Racer', email: uniqueEmail('race'), password: TEST_PASSWORD },
        });
        await blockedOnLock();
        await holder.query('COMMIT');

        const res = await pending;
        expect(res.statusCode).toBe(201);
        const org = await app.inject({
          url: '/api/v1/organizations/current',
          headers: bearer(res.json<{ accessToken: string }>().accessToken),
        });
        expect(org.json<{ slug: string }>().slug).toMatch(new RegExp(`^${base}-[0-9a-f]{6}$`));
      });

      it('should answer 409 email-taken, not a bare conflict, when the same email commits first', async () => {
        const owner = await registerOwner(app);
        const email = uniqueEmail('race');
        const organizationName = `Race ${randomUUID()}`;
        await holder.query(
          "INSERT INTO users (id, organization_id, email, name, status) VALUES (gen_random_uuid(), $1, $2, 'Held', 'invited')",
          [owner.organizationId, email],
        );
        const pending = app.inject({
          method: 'POST',
          url: '/api/v1/auth/register',
          payload: { organizationName, name: 'Racer', email, password: TEST_PASSWORD },
        });
        await blockedOnLock();
        await holder.query('COMMIT');

        expectProblem(await pending, 409, 'email-taken');
        const [{ count }] = await app
          .get(DataSource)
          .query('SELECT count(*)::int AS count FROM organizations WHERE name = $1', [organizationName]);
        expect(count).toBe(0);
      });
    });

    it.each([
      ['short', 'password must be at least 12 characters long'],
      ['password1234', 'password is too common'],
    ])('should refuse the weak password %s naming the field and write nothing', async (password, message) => {
      const email = uniqueEmail('weak');
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { organizationName: 'Weak Org', name: 'W', email, password },
      });
      const body = expectProblem(res, 400, 'validation-failed');
      expect(body.errors).toEqual([{ field: 'password', message: expect.stringContaining(message) }]);
      const [{ count }] = await app
        .get(DataSource)
        .query('SELECT count(*)::int AS count FROM users WHERE email = $1', [email]);
      expect(count).toBe(0);
    });

    it('should refuse privileged or unknown fields', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: {
          organizationName: 'X',
          name: 'X',
          email: uniqueEmail(),
          password: TEST_PASSWORD,
          status: 'active',
          organizationId: 'x',
        },
      });
      const body = expectProblem(res, 400, 'validation-failed');
      expect((body.errors as { field: string }[]).map((e) => e.field).sort()).toEqual(['organizationId', 'status']);
    });

    it('should be refused when registration is disabled', async () => {
      const closed = await createTestApp({ AUTH_REGISTRATION_ENABLED: 'false' });
      try {
        const res = await closed.inject({
          method: 'POST',
          url: '/api/v1/auth/register',
          payload: { organizationName: 'X', name: 'X', email: uniqueEmail(), password: TEST_PASSWORD },
        });
        expectProblem(res, 403, 'registration-disabled');
      } finally {
        await closed.close();
      }
    });
  });

  describe('POST /auth/login', () => {
    it('should log in with email and password (email case-insensitive)', async () => {
      const owner = await registerOwner(app);
      const res = await login(owner.email.toUpperCase(), owner.password);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String) });
      expect(events.find((e) => e.name === AuthEvent.LoginSucceeded)?.payload).toMatchObject({ userId: owner.userId });
    });

    it('should answer an unknown email and a wrong password with the same 401 body', async () => {
      const owner = await registerOwner(app);
      const unknown = await login(uniqueEmail('nobody'), 'whatever-password-1');
      const wrong = await login(owner.email, 'wrong-password-123');
      const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined });
      expect(strip(expectProblem(unknown, 401, 'invalid-credentials'))).toEqual(
        strip(expectProblem(wrong, 401, 'invalid-credentials')),
      );
    });

    it('should lock the account after LOCKOUT_THRESHOLD failures, refuse even the right password, and emit a lockout event', async () => {
      const owner = await registerOwner(app);
      for (let i = 0; i < 2; i++)
        expectProblem(await login(owner.email, `wrong-password-${i}xx`), 401, 'invalid-credentials');
      const third = await login(owner.email, 'wrong-password-3xx');
      const body = expectProblem(third, 423, 'account-locked');
      expect(Date.parse(body.lockedUntil as string)).toBeGreaterThan(Date.now() + 50_000);
      expectProblem(await login(owner.email, owner.password), 423, 'account-locked');
      expect(events.find((e) => e.name === AuthEvent.Lockout)?.payload).toMatchObject({
        userId: owner.userId,
        organizationId: owner.organizationId,
      });
    });

    it('should double the lockout period for each further lockout and reset everything on success', async () => {
      const owner = await registerOwner(app);
      const db = app.get(DataSource);
      const lockedFor = async (): Promise<number> => {
        const [row] = await db.query('SELECT extract(epoch from locked_until - now()) AS s FROM users WHERE id = $1', [
          owner.userId,
        ]);
        return Number(row.s);
      };
      for (let i = 0; i < 3; i++) await login(owner.email, `wrong-password-${i}xx`);
      expect(await lockedFor()).toBeGreaterThan(55);
      expect(await lockedFor()).toBeLessThanOrEqual(60);
      await db.query("UPDATE users SET locked_until = now() - interval '1 second' WHERE id = $1", [owner.userId]);
      for (let i = 0; i < 3; i++) await login(owner.email, `wrong-password-${i}yy`);
      expect(await lockedFor()).toBeGreaterThan(115);
      await db.query("UPDATE users SET locked_until = now() - interval '1 second' WHERE id = $1", [owner.userId]);
      expect((await login(owner.email, owner.password)).statusCode).toBe(200);
      const [row] = await db.query('SELECT failed_login_count, lockout_count, locked_until FROM users WHERE id = $1', [
        owner.userId,
      ]);
      expect(row).toEqual({ failed_login_count: 0, lockout_count: 0, locked_until: null });
    });

    it('should not accept a different password that shares the first 72 bytes (bcrypt truncation, multi-byte)', async () => {
      const prefix = 'é'.repeat(36); // 72 UTF-8 bytes: all bcrypt would ever see of a raw password
      const email = uniqueEmail('long');
      const register = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { organizationName: 'Long', name: 'L', email, password: `${prefix}-first-tail` },
      });
      expect(register.statusCode).toBe(201);
      expectProblem(await login(email, `${prefix}-other-tail`), 401, 'invalid-credentials');
      expect((await login(email, `${prefix}-first-tail`)).statusCode).toBe(200);
    });

    it('should refuse a disabled account with its own problem type', async () => {
      const owner = await registerOwner(app);
      await app.get(DataSource).query("UPDATE users SET status = 'disabled' WHERE id = $1", [owner.userId]);
      expectProblem(await login(owner.email, owner.password), 403, 'account-disabled');
    });

    it('should refuse an unverified email when verification is required', async () => {
      const strict = await createTestApp({ AUTH_REQUIRE_VERIFIED_EMAIL: 'true' });
      try {
        const owner = await registerOwner(strict);
        expectProblem(
          await strict.inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            payload: { email: owner.email, password: owner.password },
          }),
          403,
          'email-not-verified',
        );
      } finally {
        await strict.close();
      }
    });
  });
});
