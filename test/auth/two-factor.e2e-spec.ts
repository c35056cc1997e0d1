import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Redis } from 'ioredis';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../src/config/app.config';
import { REDIS } from '../../src/core/redis/redis.module';
import { PasswordHasher } from '../../src/core/security/password-hasher';
import { SecretBox, SecretBoxError } from '../../src/core/security/secret-box';
import { AuthEvent, type AuthEventPayload } from '../../src/modules/auth/auth.events';
import { bearer, registerOwner, TEST_PASSWORD, type TestAccount } from '../helpers/auth';
import { insertMember } from '../helpers/fixtures';
import { expectProblem } from '../helpers/problem';
import { createTestApp, testConfig } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';

const STEP_MS = 30_000;

/**
 * A TOTP code computed by an implementation independent of the app's (Debian's oathtool: RFC 6238,
 * HMAC-SHA-1, 6 digits, 30-second steps), for the step `unixMillis` falls in.
 */
function oathtool(secret: string, unixMillis: number): string {
  return execFileSync('/usr/bin/oathtool', ['--totp', '-b', secret, '--now', new Date(unixMillis).toISOString()], {
    encoding: 'utf8',
  }).trim();
}

interface WindowCodes {
  step: number;
  previous: string;
  current: string;
  next: string;
  /** Two steps either side: outside the ±1 step of accepted skew. */
  tooOld: string;
  tooNew: string;
  /** Six digits that are none of the codes above. */
  wrong: string;
}

/**
 * The codes around now. Waits out the last seconds of a step first, so that the server (same clock, same
 * process) still sees the same window when the request arrives.
 */
async function windowCodes(secret: string): Promise<WindowCodes> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < 4000) await sleep(left + 100);
  const now = Date.now();
  const at = (steps: number) => oathtool(secret, now + steps * STEP_MS);
  const codes = { previous: at(-1), current: at(0), next: at(1), tooOld: at(-2), tooNew: at(2) };
  let wrong = Number(codes.current);
  const taken = new Set(Object.values(codes));
  do wrong = (wrong + 1) % 1_000_000;
  while (taken.has(String(wrong).padStart(6, '0')));
  return { step: Math.floor(now / STEP_MS), ...codes, wrong: String(wrong).padStart(6, '0') };
}

describe('Two-factor authentication (TOTP)', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let events: { name: string; payload: AuthEventPayload }[];

  beforeAll(async () => {
    // The default LOCKOUT_THRESHOLD (5) is what the lockout tests count to.
    app = await createTestApp();
    db = app.get(DataSource);
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

  const post = (url: string, payload: object, accessToken?: string) =>
    app.inject({
      method: 'POST',
      url: `/api/v1${url}`,
      payload,
      headers: accessToken ? bearer(accessToken) : {},
    });
  const login = (email: string, password = TEST_PASSWORD) => post('/auth/login', { email, password });
  const loginTwoFactor = (mfaToken: string, code: string) => post('/auth/login/2fa', { mfaToken, code });

  /** Password step of a 2FA login: the mfaToken. */
  async function mfaToken(email: string): Promise<string> {
    const res = await login(email);
    expect(res.statusCode).toBe(200);
    const body = res.json<{ mfaRequired: true; mfaToken: string }>();
    expect(body).toEqual({ mfaRequired: true, mfaToken: expect.any(String) });
    return body.mfaToken;
  }

  async function setup(accessToken: string): Promise<{ secret: string; otpauthUrl: string; qrCode: string }> {
    const res = await post('/auth/2fa/setup', {}, accessToken);
    expect(res.statusCode).toBe(200);
    return res.json();
  }

  /**
   * Sets up and enables 2FA, confirming with the PREVIOUS step's code: the current and next steps stay
   * free for the test (a step, once accepted, is never accepted again).
   */
  async function enableTwoFactor(account: TestAccount): Promise<{ secret: string; recoveryCodes: string[] }> {
    const { secret } = await setup(account.accessToken);
    const { previous } = await windowCodes(secret);
    const res = await post('/auth/2fa/enable', { code: previous }, account.accessToken);
    expect(res.statusCode).toBe(200);
    return { secret, recoveryCodes: res.json<{ recoveryCodes: string[] }>().recoveryCodes };
  }

  /** Makes the session's last proof of a credential (login counts as one) older than STEP_UP_MAX_AGE_SECONDS. */
  async function expireStepUp(sessionId: string): Promise<void> {
    await db.query("UPDATE sessions SET step_up_at = now() - interval '1 hour' WHERE id = $1", [sessionId]);
  }

  async function userRow(userId: string): Promise<Record<string, unknown>> {
    const [row] = await db.query<Record<string, unknown>[]>(
      `SELECT totp_secret, totp_enabled_at, totp_last_step::int AS totp_last_step, failed_login_count, locked_until
       FROM users WHERE id = $1`,
      [userId],
    );
    return row;
  }

  describe('setup and enable', () => {
    it('should return a 160-bit base32 secret, an otpauth URI with every parameter, and a PNG QR code', async () => {
      const owner = await registerOwner(app, 'setup');
      const body = await setup(owner.accessToken);
      expect(Object.keys(body).sort()).toEqual(['otpauthUrl', 'qrCode', 'secret']);
      expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);

      const uri = new URL(body.otpauthUrl);
      expect(uri.protocol).toBe('otpauth:');
      expect(uri.host).toBe('totp');
      expect(decodeURIComponent(uri.pathname)).toBe(`/Atrium:${owner.email}`);
      expect(Object.fromEntries(uri.searchParams)).toEqual({
        secret: body.secret,
        issuer: 'Atrium',
        algorithm: 'SHA1',
        digits: '6',
        period: '30',
      });

      const [, png] = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(body.qrCode) ?? [];
      expect(png).toBeDefined();
      expect(Buffer.from(png, 'base64').subarray(0, 8)).toEqual(
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      );

      // Not active until confirmed with a code.
      const me = await app.inject({ url: '/api/v1/auth/me', headers: bearer(owner.accessToken) });
      expect(me.json()).toMatchObject({ twoFactorEnabled: false });
      expect((await login(owner.email)).json()).toMatchObject({ accessToken: expect.any(String) });
    });

    it('should keep the secret sealed at rest (AES-256-GCM), opening only with the configured key and for its user', async () => {
      const owner = await registerOwner(app, 'sealed');
      const { secret } = await setup(owner.accessToken);
      const { totp_secret: stored } = (await userRow(owner.userId)) as { totp_secret: string };

      expect(stored).toMatch(/^v1\./);
      expect(stored).not.toContain(secret);
      expect(stored.toLowerCase()).not.toContain(secret.toLowerCase());
      expect(app.get(SecretBox).open(stored, owner.userId)).toBe(secret);
      const otherKey = new SecretBox(testConfig({ TOTP_ENCRYPTION_KEY: randomBytes(32).toString('base64') }));
      expect(() => otherKey.open(stored, owner.userId)).toThrow(SecretBoxError);
      // Bound to its owner: copied into another user's row, it does not open.
      expect(() => app.get(SecretBox).open(stored, randomUUID())).toThrow(SecretBoxError);
    });

    it('should refuse a wrong code, and codes outside ±1 step, when enabling', async () => {
      const owner = await registerOwner(app, 'wrong-enable');
      const { secret } = await setup(owner.accessToken);
      const codes = await windowCodes(secret);
      for (const code of [codes.wrong, codes.tooOld, codes.tooNew]) {
        expectProblem(await post('/auth/2fa/enable', { code }, owner.accessToken), 401, 'invalid-two-factor-code');
      }
      expect(await userRow(owner.userId)).toMatchObject({ totp_enabled_at: null, totp_last_step: null });
    });

    it('should enable with a current code and return 10 distinct recovery codes, stored only as hashes', async () => {
      const owner = await registerOwner(app, 'enable');
      const { secret } = await setup(owner.accessToken);
      const { current, step } = await windowCodes(secret);
      const res = await post('/auth/2fa/enable', { code: current }, owner.accessToken);
      expect(res.statusCode).toBe(200);
      const { recoveryCodes } = res.json<{ recoveryCodes: string[] }>();
      expect(recoveryCodes).toHaveLength(10);
      expect(new Set(recoveryCodes).size).toBe(10);
      for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);

      const rows: { code_hash: string; used_at: Date | null }[] = await db.query(
        'SELECT code_hash, used_at FROM recovery_codes WHERE user_id = $1',
        [owner.userId],
      );
      expect(rows).toHaveLength(10);
      for (const row of rows) {
        expect(row.code_hash).toMatch(/^[0-9a-f]{64}$/);
        expect(row.used_at).toBeNull();
        for (const code of recoveryCodes) {
          expect(row.code_hash).not.toContain(code);
          expect(row.code_hash).not.toContain(code.replace(/-/g, ''));
        }
      }
      expect(new Set(rows.map((r) => r.code_hash)).size).toBe(10);

      expect(await userRow(owner.userId)).toMatchObject({ totp_enabled_at: expect.any(Date), totp_last_step: step });
      const me = await app.inject({ url: '/api/v1/auth/me', headers: bearer(owner.accessToken) });
      expect(me.json()).toMatchObject({ twoFactorEnabled: true });
      expect(events.find((e) => e.name === AuthEvent.TwoFactorEnabled)?.payload).toMatchObject({
        userId: owner.userId,
      });
      expectProblem(await post('/auth/2fa/setup', {}, owner.accessToken), 409, 'two-factor-already-enabled');
    });
  });

  describe('login with 2FA', () => {
    it('should answer the password step with an mfaToken only, and complete with a TOTP code', async () => {
      const owner = await registerOwner(app, 'login2fa');
      const { secret } = await enableTwoFactor(owner);
      const res = await login(owner.email);
      expect(res.statusCode).toBe(200);
      const body = res.json<Record<string, unknown>>();
      expect(body).toEqual({ mfaRequired: true, mfaToken: expect.any(String) });

      const { current } = await windowCodes(secret);
      const done = await loginTwoFactor(body.mfaToken as string, current);
      expect(done.statusCode).toBe(200);
      const pair = done.json<{ accessToken: string }>();
      expect(pair).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 900,
      });
      const me = await app.inject({ url: '/api/v1/auth/me', headers: bearer(pair.accessToken) });
      expect(me.json()).toMatchObject({ id: owner.userId, twoFactorEnabled: true });
    });

    it('should keep the mfaToken short-lived and single-purpose', async () => {
      const owner = await registerOwner(app, 'mfatoken');
      await enableTwoFactor(owner);
      const token = await mfaToken(owner.email);
      // Not an access token.
      expectProblem(await app.inject({ url: '/api/v1/auth/me', headers: bearer(token) }), 401, 'invalid-token');
      const redis = app.get<Redis>(REDIS);
      const key = `${app.get(AppConfig).redis.keyPrefix}mfa:${createHash('sha256').update(token).digest('hex')}`;
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300);
    });

    it('should refuse the same TOTP code a second time', async () => {
      const owner = await registerOwner(app, 'replay');
      const { secret } = await enableTwoFactor(owner);
      const { current, step } = await windowCodes(secret);
      expect((await loginTwoFactor(await mfaToken(owner.email), current)).statusCode).toBe(200);
      expect(await userRow(owner.userId)).toMatchObject({ totp_last_step: step });

      expectProblem(await loginTwoFactor(await mfaToken(owner.email), current), 401, 'invalid-two-factor-code');
    });

    it("should refuse an older step's code once a newer step was accepted", async () => {
      const owner = await registerOwner(app, 'older');
      const { secret } = await enableTwoFactor(owner);
      const { current, next, step } = await windowCodes(secret);
      expect((await loginTwoFactor(await mfaToken(owner.email), next)).statusCode).toBe(200);
      expect(await userRow(owner.userId)).toMatchObject({ totp_last_step: step + 1 });

      expectProblem(await loginTwoFactor(await mfaToken(owner.email), current), 401, 'invalid-two-factor-code');
      expect(events.filter((e) => e.name === AuthEvent.TwoFactorFailed)).toHaveLength(1);
    });

    it('should refuse codes outside ±1 step of skew', async () => {
      const owner = await registerOwner(app, 'skew');
      const { secret } = await enableTwoFactor(owner);
      const { tooOld, tooNew } = await windowCodes(secret);
      const token = await mfaToken(owner.email);
      expectProblem(await loginTwoFactor(token, tooNew), 401, 'invalid-two-factor-code');
      expectProblem(await loginTwoFactor(token, tooOld), 401, 'invalid-two-factor-code');
    });

    it('should accept a recovery code once (any case and spacing), and emit the recovery-code event', async () => {
      const owner = await registerOwner(app, 'recovery');
      const { recoveryCodes } = await enableTwoFactor(owner);
      const [code] = recoveryCodes;
      const typed = code.toUpperCase().replace(/-/g, ' ');
      const res = await loginTwoFactor(await mfaToken(owner.email), typed);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ accessToken: expect.any(String), tokenType: 'Bearer' });
      expect(events.find((e) => e.name === AuthEvent.RecoveryCodeUsed)?.payload).toMatchObject({
        userId: owner.userId,
        organizationId: owner.organizationId,
      });
      const [{ used }] = await db.query(
        'SELECT count(*)::int AS used FROM recovery_codes WHERE user_id = $1 AND used_at IS NOT NULL',
        [owner.userId],
      );
      expect(used).toBe(1);

      events = [];
      expectProblem(await loginTwoFactor(await mfaToken(owner.email), code), 401, 'invalid-two-factor-code');
      expect(events.map((e) => e.name)).not.toContain(AuthEvent.RecoveryCodeUsed);
      // The others still work.
      expect((await loginTwoFactor(await mfaToken(owner.email), recoveryCodes[1])).statusCode).toBe(200);
    });

    it('should refuse an unknown, an expired and a used mfaToken with 401 invalid-mfa-token', async () => {
      const owner = await registerOwner(app, 'badtoken');
      const { secret } = await enableTwoFactor(owner);
      const { current, next } = await windowCodes(secret);

      expectProblem(await loginTwoFactor(randomBytes(32).toString('base64url'), current), 401, 'invalid-mfa-token');

      const expired = await mfaToken(owner.email);
      const key = `${app.get(AppConfig).redis.keyPrefix}mfa:${createHash('sha256').update(expired).digest('hex')}`;
      // Let Redis expire it, as it would after MFA_TOKEN_TTL_SECONDS.
      await app.get<Redis>(REDIS).pexpire(key, 1);
      await sleep(20);
      expectProblem(await loginTwoFactor(expired, current), 401, 'invalid-mfa-token');

      const used = await mfaToken(owner.email);
      expect((await loginTwoFactor(used, current)).statusCode).toBe(200);
      expectProblem(await loginTwoFactor(used, next), 401, 'invalid-mfa-token');
    });

    it('should let only one of two concurrent completions with the same mfaToken succeed', async () => {
      const owner = await registerOwner(app, 'race');
      const { secret } = await enableTwoFactor(owner);
      const token = await mfaToken(owner.email);
      const count = async (): Promise<number> => {
        const [{ n }] = await db.query('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [owner.userId]);
        return n as number;
      };
      const before = await count();
      const { current, next } = await windowCodes(secret);
      const results = await Promise.all([loginTwoFactor(token, current), loginTwoFactor(token, next)]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
      const loser = results.find((r) => r.statusCode === 401);
      expect(loser?.json<{ type: string }>().type).toMatch(/:(invalid-mfa-token|invalid-two-factor-code)$/);
      expect(await count()).toBe(before + 1);
      expect(events.filter((e) => e.name === AuthEvent.LoginSucceeded)).toHaveLength(1);
    });

    it('should lock the account after 5 wrong codes, and keep it locked for the right password and code', async () => {
      const owner = await registerOwner(app, 'lock2fa');
      const { secret } = await enableTwoFactor(owner);
      const token = await mfaToken(owner.email);
      const { wrong, current } = await windowCodes(secret);
      for (let i = 0; i < 4; i++) expectProblem(await loginTwoFactor(token, wrong), 401, 'invalid-two-factor-code');
      const fifth = expectProblem(await loginTwoFactor(token, wrong), 423, 'account-locked');
      expect(Date.parse(fifth.lockedUntil as string)).toBeGreaterThan(Date.now() + 50_000);
      expect(events.filter((e) => e.name === AuthEvent.TwoFactorFailed)).toHaveLength(5);
      expect(events.find((e) => e.name === AuthEvent.Lockout)?.payload).toMatchObject({ userId: owner.userId });

      expectProblem(await loginTwoFactor(token, current), 423, 'account-locked');
      expectProblem(await login(owner.email), 423, 'account-locked');
    });

    it('should count wrong passwords and wrong codes together towards the lockout', async () => {
      const owner = await registerOwner(app, 'mixed');
      const { secret } = await enableTwoFactor(owner);
      for (let i = 0; i < 2; i++)
        expectProblem(await login(owner.email, `wrong-password-${i}xx`), 401, 'invalid-credentials');
      const token = await mfaToken(owner.email);
      const { wrong } = await windowCodes(secret);
      // The correct password did not reset the count: the 2FA login is not complete.
      expect(await userRow(owner.userId)).toMatchObject({ failed_login_count: 2 });
      for (let i = 0; i < 2; i++) expectProblem(await loginTwoFactor(token, wrong), 401, 'invalid-two-factor-code');
      expectProblem(await loginTwoFactor(token, wrong), 423, 'account-locked');
    });
  });

  describe('step-up and disabling', () => {
    it('should refuse to disable 2FA without a recent step-up', async () => {
      const owner = await registerOwner(app, 'nostepup');
      const { secret } = await enableTwoFactor(owner);
      await expireStepUp(owner.sessionId);
      const { current } = await windowCodes(secret);
      const body = expectProblem(
        await post('/auth/2fa/disable', { code: current }, owner.accessToken),
        403,
        'step-up-required',
      );
      expect(body.maxAgeSeconds).toBe(300);
      expect(await userRow(owner.userId)).toMatchObject({ totp_enabled_at: expect.any(Date) });
    });

    it('should disable 2FA after a password step-up and a code, after which login asks for no code', async () => {
      const owner = await registerOwner(app, 'disable');
      const { secret } = await enableTwoFactor(owner);
      await expireStepUp(owner.sessionId);
      expect((await post('/auth/step-up', { password: owner.password }, owner.accessToken)).statusCode).toBe(204);

      const { current } = await windowCodes(secret);
      const res = await post('/auth/2fa/disable', { code: current }, owner.accessToken);
      expect(res.statusCode).toBe(204);
      expect(events.find((e) => e.name === AuthEvent.TwoFactorDisabled)?.payload).toMatchObject({
        userId: owner.userId,
      });
      expect(await userRow(owner.userId)).toMatchObject({ totp_secret: null, totp_enabled_at: null });
      const [{ n }] = await db.query('SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1', [
        owner.userId,
      ]);
      expect(n).toBe(0);

      const again = await login(owner.email);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ accessToken: expect.any(String), tokenType: 'Bearer' });
      expect(again.json()).not.toHaveProperty('mfaRequired');
    });

    it('should accept a TOTP code as step-up, and not the same code again', async () => {
      const owner = await registerOwner(app, 'stepupcode');
      const { secret } = await enableTwoFactor(owner);
      await expireStepUp(owner.sessionId);
      const { current } = await windowCodes(secret);
      expect((await post('/auth/step-up', { code: current }, owner.accessToken)).statusCode).toBe(204);
      expectProblem(
        await post('/auth/2fa/disable', { code: current }, owner.accessToken),
        401,
        'invalid-two-factor-code',
      );
      expect((await post('/auth/2fa/disable', { password: owner.password }, owner.accessToken)).statusCode).toBe(204);
    });

    it('should refuse a step-up with a wrong password (403) and count it as a failure', async () => {
      const owner = await registerOwner(app, 'badstepup');
      await enableTwoFactor(owner);
      await expireStepUp(owner.sessionId);
      expectProblem(
        await post('/auth/step-up', { password: 'wrong-password-123' }, owner.accessToken),
        403,
        'invalid-current-password',
      );
      expect(await userRow(owner.userId)).toMatchObject({ failed_login_count: 1 });
      expect(events.find((e) => e.name === AuthEvent.LoginFailed)?.payload).toMatchObject({
        userId: owner.userId,
        reason: 'step-up-failed',
      });
      // Still no step-up recorded.
      expectProblem(
        await post('/auth/2fa/disable', { password: owner.password }, owner.accessToken),
        403,
        'step-up-required',
      );
    });

    it('should check the password at disable before it locks the account row', async () => {
      const owner = await registerOwner(app, 'disable-unlocked');
      await enableTwoFactor(owner);
      const verify = jest.spyOn(app.get(PasswordHasher), 'verify');
      const holder = new Client({ connectionString: process.env.DATABASE_URL });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [owner.userId]);
        const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
        const pending = post('/auth/2fa/disable', { password: owner.password }, owner.accessToken);
        await waitFor(
          async () => {
            const rows = await db.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid]);
            return rows.length > 0 ? true : undefined;
          },
          { what: 'the disable request to wait for the held row' },
        );
        // bcrypt already ran: the request needed the row only after the password was checked.
        expect(verify).toHaveBeenCalledTimes(1);
        await holder.query('COMMIT');
        expect((await pending).statusCode).toBe(204);
        expect(await userRow(owner.userId)).toMatchObject({ totp_secret: null, totp_enabled_at: null });
      } finally {
        verify.mockRestore();
        await holder.end();
      }
    });

    it('should count a wrong code or password at disable towards the lockout', async () => {
      const owner = await registerOwner(app, 'baddisable');
      const { secret } = await enableTwoFactor(owner);
      const { wrong } = await windowCodes(secret);
      // Just logged in (registered): the step-up is fresh.
      for (let i = 0; i < 2; i++) {
        expectProblem(
          await post('/auth/2fa/disable', { code: wrong }, owner.accessToken),
          401,
          'invalid-two-factor-code',
        );
      }
      for (let i = 0; i < 2; i++) {
        expectProblem(
          await post('/auth/2fa/disable', { password: `wrong-password-${i}xx` }, owner.accessToken),
          403,
          'invalid-current-password',
        );
      }
      expect(await userRow(owner.userId)).toMatchObject({ failed_login_count: 4 });
      expectProblem(await post('/auth/2fa/disable', { code: wrong }, owner.accessToken), 423, 'account-locked');
      expectProblem(await login(owner.email), 423, 'account-locked');
      expect(await userRow(owner.userId)).toMatchObject({ totp_enabled_at: expect.any(Date) });
    });
  });

  describe('organization requiring 2FA', () => {
    it('should send a member without 2FA to setup after password login, then let the same session everywhere', async () => {
      const owner = await registerOwner(app, 'org2fa');
      const patch = await app.inject({
        method: 'PATCH',
        url: '/api/v1/organizations/current',
        headers: bearer(owner.accessToken),
        payload: { requireTwoFactor: true },
      });
      expect(patch.statusCode).toBe(200);
      expect(patch.json()).toMatchObject({ requireTwoFactor: true });

      const member = await insertMember(app, owner.organizationId, { assignments: [{ roleKey: 'viewer' }] });
      const res = await login(member.email);
      expect(res.statusCode).toBe(200);
      const pair = res.json<{ accessToken: string; mfaSetupRequired: boolean }>();
      expect(pair).toMatchObject({ accessToken: expect.any(String), tokenType: 'Bearer', mfaSetupRequired: true });
      const token = pair.accessToken;

      const me = await app.inject({ url: '/api/v1/auth/me', headers: bearer(token) });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ id: member.id, twoFactorEnabled: false });
      expectProblem(
        await app.inject({ url: '/api/v1/organizations/current', headers: bearer(token) }),
        403,
        'two-factor-setup-required',
      );
      expectProblem(
        await app.inject({ url: '/api/v1/auth/sessions', headers: bearer(token) }),
        403,
        'two-factor-setup-required',
      );
      expectProblem(await post('/auth/step-up', { password: TEST_PASSWORD }, token), 403, 'two-factor-setup-required');

      const { secret } = await setup(token);
      const { current } = await windowCodes(secret);
      const enabled = await post('/auth/2fa/enable', { code: current }, token);
      expect(enabled.statusCode).toBe(200);

      const org = await app.inject({ url: '/api/v1/organizations/current', headers: bearer(token) });
      expect(org.statusCode).toBe(200);
      expect(org.json()).toMatchObject({ id: owner.organizationId, requireTwoFactor: true });
      expect((await app.inject({ url: '/api/v1/auth/sessions', headers: bearer(token) })).statusCode).toBe(200);

      // The next login goes through 2FA, not setup.
      expect((await login(member.email)).json()).toEqual({ mfaRequired: true, mfaToken: expect.any(String) });
    });

    it('should not require setup of a member who already has 2FA', async () => {
      const owner = await registerOwner(app, 'org2fa-on');
      const { secret } = await enableTwoFactor(owner);
      await app.inject({
        method: 'PATCH',
        url: '/api/v1/organizations/current',
        headers: bearer(owner.accessToken),
        payload: { requireTwoFactor: true },
      });
      const { current } = await windowCodes(secret);
      const res = await loginTwoFactor(await mfaToken(owner.email), current);
      expect(res.statusCode).toBe(200);
      expect(res.json()).not.toHaveProperty('mfaSetupRequired');
      // While the organization requires 2FA, a member cannot turn it off, even with a valid proof.
      const disable = await post(
        '/auth/2fa/disable',
        { password: TEST_PASSWORD },
        res.json<{ accessToken: string }>().accessToken,
      );
      expectProblem(disable, 409, 'two-factor-required-by-organization');
    });
  });

  describe('DELETE /organizations/current', () => {
    it('should need a recent step-up, then delete the organization and end every session at once', async () => {
      const owner = await registerOwner(app, 'delete-org');
      const member = await insertMember(app, owner.organizationId, { assignments: [{ roleKey: 'viewer' }] });
      const memberToken = (await login(member.email)).json<{ accessToken: string }>().accessToken;
      await expireStepUp(owner.sessionId);
      const del = () =>
        app.inject({ method: 'DELETE', url: '/api/v1/organizations/current', headers: bearer(owner.accessToken) });

      expectProblem(await del(), 403, 'step-up-required');
      expectProblem(
        await app.inject({ method: 'DELETE', url: '/api/v1/organizations/current', headers: bearer(memberToken) }),
        403,
        'permission-denied',
      );
      expect((await post('/auth/step-up', { password: owner.password }, owner.accessToken)).statusCode).toBe(204);
      expect((await del()).statusCode).toBe(204);

      const [{ n }] = await db.query('SELECT count(*)::int AS n FROM organizations WHERE id = $1', [
        owner.organizationId,
      ]);
      expect(n).toBe(0);
      expect(events.find((e) => e.name === AuthEvent.OrganizationDeleted)?.payload).toMatchObject({
        organizationId: owner.organizationId,
        userId: owner.userId,
      });
      for (const token of [owner.accessToken, memberToken]) {
        expectProblem(await app.inject({ url: '/api/v1/auth/me', headers: bearer(token) }), 401, 'session-revoked');
      }
      expectProblem(await post('/auth/refresh', { refreshToken: owner.refreshToken }), 401, 'invalid-refresh-token');
      expectProblem(await login(owner.email), 401, 'invalid-credentials');
    });
  });
});
