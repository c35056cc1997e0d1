import { EventEmitter2 } from '@nestjs/event-emitter';
import { AuthEvent } from '../../src/modules/auth/auth.events';
import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import { otpMail } from '../../src/core/mail/mail-message';
import type { OtpPurpose } from '../../src/modules/auth/auth.dto';
import { bearer, registerOwner, TEST_PASSWORD, uniqueEmail, type TestAccount } from '../helpers/auth';
import { expectProblem } from '../helpers/problem';
import { startSmtpCapture, type CapturedMail, type SmtpCapture } from '../helpers/smtp-capture';
import { createTestApp, createTestWorker } from '../helpers/test-app';

const NEW_PASSWORD = 'another-Sturdy-lantern-77';

/** The subject line of each purpose's mail at the default lifetime (10 minutes); it never holds the code. */
const SUBJECT = (purpose: OtpPurpose): string => otpMail(purpose, '000000', 10, 'http://unused').subject;

/** The code sits alone on an indented line of the text body. */
function codeIn(mail: CapturedMail): string {
  const match = /^ {4}(\S+)$/m.exec(mail.text);
  if (!match) throw new Error(`no code in mail: ${mail.text}`);
  return match[1];
}

/** A different six-digit code than `code`. */
function otherCode(code: string, offset = 1): string {
  return String((Number(code) + offset) % 1_000_000).padStart(6, '0');
}

describe('Email OTP, password reset/change and email change', () => {
  let capture: SmtpCapture;
  let app: NestFastifyApplication;
  let worker: INestApplicationContext;
  let db: DataSource;

  beforeAll(async () => {
    capture = await startSmtpCapture();
    // API and worker share a Redis prefix of this file's own, so only this worker takes these mails off the
    // `mail` queue (workers of other spec files would otherwise send them to their own SMTP servers or outbox).
    const env: RawEnv = {
      REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}otp:`,
      SMTP_URL: `smtp://${capture.host}:${capture.port}`,
    };
    app = await createTestApp(env);
    worker = await createTestWorker(env);
    db = app.get(DataSource);
  });

  afterAll(async () => {
    await worker?.close();
    await app?.close();
    await capture?.close();
  });

  const post = (url: string, payload: object, token?: string) =>
    app.inject({ method: 'POST', url: `/api/v1/auth/${url}`, payload, headers: token ? bearer(token) : {} });
  const me = (token: string) => app.inject({ url: '/api/v1/auth/me', headers: bearer(token) });
  const login = (email: string, password: string) => post('login', { email, password });

  const mailsFor = (email: string, purpose: OtpPurpose): CapturedMail[] =>
    capture.messages.filter((m) => m.to.includes(email) && m.subject === SUBJECT(purpose));

  /** Waits for the next mail of `purpose` to `email` (beyond the `seen` already there) and returns its code. */
  async function nextCode(email: string, purpose: OtpPurpose, seen: number): Promise<string> {
    const mail = await capture.waitForMail((m) => m === mailsFor(email, purpose)[seen], 15000);
    return codeIn(mail);
  }

  /** POST /auth/otp/request and the code from the mail it causes. */
  async function requestCode(email: string, purpose: OtpPurpose): Promise<string> {
    const seen = mailsFor(email, purpose).length;
    const res = await post('otp/request', { email, purpose });
    expect(res.statusCode).toBe(202);
    return nextCode(email, purpose, seen);
  }

  const verify = (email: string, purpose: OtpPurpose, code: string) => post('otp/verify', { email, purpose, code });

  interface OtpRow {
    code_hash: string;
    attempts: number;
    expires_at: Date;
    consumed_at: Date | null;
  }

  async function otpRow(email: string, purpose: OtpPurpose): Promise<OtpRow> {
    const [row] = await db.query<OtpRow[]>(
      'SELECT code_hash, attempts, expires_at, consumed_at FROM email_otps WHERE email = $1 AND purpose = $2',
      [email, purpose],
    );
    return row;
  }

  /** A second session of the same account (a login elsewhere). */
  async function secondSession(account: TestAccount, password = account.password): Promise<string> {
    const res = await login(account.email, password);
    expect(res.statusCode).toBe(200);
    return res.json<{ accessToken: string }>().accessToken;
  }

  describe('POST /auth/otp/request', () => {
    it('should answer an unknown email exactly like a known one and mail nothing to it', async () => {
      const owner = await registerOwner(app, 'otp-known');
      const nobody = uniqueEmail('otp-nobody');

      const unknown = await post('otp/request', { email: nobody, purpose: 'login' });
      const known = await post('otp/request', { email: owner.email, purpose: 'login' });

      expect(unknown.statusCode).toBe(202);
      expect(known.statusCode).toBe(202);
      expect(unknown.body).toBe(known.body);
      expect(unknown.headers['content-type']).toBe(known.headers['content-type']);
      expect(unknown.headers['content-length']).toBe(known.headers['content-length']);

      // The known account's mail arrives; by then (plus a margin) any mail to the unknown one would have too.
      await nextCode(owner.email, 'login', 0);
      await sleep(1000);
      expect(capture.messages.filter((m) => m.to.includes(nobody))).toEqual([]);
      const [{ count }] = await db.query('SELECT count(*)::int AS count FROM email_otps WHERE email = $1', [nobody]);
      expect(count).toBe(0);
    });

    it('should refuse an unknown purpose and a malformed email', async () => {
      const owner = await registerOwner(app, 'otp-bad');
      const badPurpose = await post('otp/request', { email: owner.email, purpose: 'admin' });
      expect(expectProblem(badPurpose, 400, 'validation-failed').errors).toEqual([
        { field: 'purpose', message: expect.any(String) },
      ]);
      expectProblem(await post('otp/request', { email: 'not-an-email', purpose: 'login' }), 400, 'validation-failed');
    });

    it('should mail six random digits, store only their hash, and expire them after 10 minutes by default', async () => {
      const owner = await registerOwner(app, 'otp-hash');
      const before = Date.now();
      const code = await requestCode(owner.email, 'login');

      expect(code).toMatch(/^\d{6}$/);
      const [mail] = mailsFor(owner.email, 'login');
      expect(mail.subject).not.toContain(code);
      const row = await otpRow(owner.email, 'login');
      expect(row.code_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.code_hash).not.toContain(code);
      expect(row.attempts).toBe(0);
      expect(row.consumed_at).toBeNull();
      const ttl = row.expires_at.getTime() - before;
      expect(ttl).toBeGreaterThan(595_000);
      expect(ttl).toBeLessThanOrEqual(601_000);
    });
  });

  describe('POST /auth/otp/verify', () => {
    it('should log in with a login code and mark the address verified', async () => {
      const owner = await registerOwner(app, 'otp-login');
      const code = await requestCode(owner.email, 'login');

      const res = await verify(owner.email.toUpperCase(), 'login', code);

      expect(res.statusCode).toBe(200);
      const tokens = res.json<{ accessToken: string }>();
      expect(tokens).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 900,
      });
      const profile = await me(tokens.accessToken);
      expect(profile.statusCode).toBe(200);
      expect(profile.json()).toMatchObject({ id: owner.userId, emailVerified: true });
      expect(profile.json<{ sessionId: string }>().sessionId).not.toBe(owner.sessionId);
    });

    it('should answer a login code with mfaRequired instead of tokens when 2FA is on', async () => {
      const owner = await registerOwner(app, 'otp-mfa');
      await db.query('UPDATE users SET totp_enabled_at = now() WHERE id = $1', [owner.userId]);
      const code = await requestCode(owner.email, 'login');

      const res = await verify(owner.email, 'login', code);

      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ mfaRequired: true, mfaToken: expect.any(String) });
    });

    it('should verify the email address with a verify_email code', async () => {
      const owner = await registerOwner(app, 'otp-verify');
      expect((await me(owner.accessToken)).json()).toMatchObject({ emailVerified: false });
      const code = await requestCode(owner.email, 'verify_email');

      const res = await verify(owner.email, 'verify_email', code);

      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ verified: true });
      expect((await me(owner.accessToken)).json()).toMatchObject({ emailVerified: true });
    });

    it('should refuse every code, the right one too, after 5 wrong guesses', async () => {
      const owner = await registerOwner(app, 'otp-guess');
      const code = await requestCode(owner.email, 'login');

      for (let i = 1; i <= 5; i++) {
        expectProblem(await verify(owner.email, 'login', otherCode(code, i)), 400, 'invalid-or-expired-code');
      }
      expect((await otpRow(owner.email, 'login')).attempts).toBe(5);
      expectProblem(await verify(owner.email, 'login', code), 400, 'invalid-or-expired-code');
    });

    it('should refuse an expired code', async () => {
      const owner = await registerOwner(app, 'otp-expired');
      const code = await requestCode(owner.email, 'login');
      await db.query(
        "UPDATE email_otps SET expires_at = now() - interval '1 second' WHERE email = $1 AND purpose = 'login'",
        [owner.email],
      );

      expectProblem(await verify(owner.email, 'login', code), 400, 'invalid-or-expired-code');
    });

    it('should accept a code once only', async () => {
      const owner = await registerOwner(app, 'otp-once');
      const code = await requestCode(owner.email, 'login');

      expect((await verify(owner.email, 'login', code)).statusCode).toBe(200);
      expectProblem(await verify(owner.email, 'login', code), 400, 'invalid-or-expired-code');
      expect((await otpRow(owner.email, 'login')).consumed_at).not.toBeNull();
    });

    it('should replace an older code with a newer one', async () => {
      const owner = await registerOwner(app, 'otp-newer');
      const first = await requestCode(owner.email, 'login');
      const second = await requestCode(owner.email, 'login');
      // One in a million: the new code may equal the old one, and then "the old one is refused" cannot hold.
      if (first !== second) {
        expectProblem(await verify(owner.email, 'login', first), 400, 'invalid-or-expired-code');
      }
      expect((await verify(owner.email, 'login', second)).statusCode).toBe(200);
    });

    it('should refuse a code of another purpose, an unknown email and a reset_password code', async () => {
      const owner = await registerOwner(app, 'otp-purpose');
      const code = await requestCode(owner.email, 'verify_email');

      expectProblem(await verify(owner.email, 'login', code), 400, 'invalid-or-expired-code');
      expectProblem(await verify(uniqueEmail('otp-none'), 'login', code), 400, 'invalid-or-expired-code');
      const reset = await requestCode(owner.email, 'reset_password');
      expectProblem(await verify(owner.email, 'reset_password', reset), 400, 'invalid-or-expired-code');

      // Refusing it there neither used it up nor counted a guess: it still resets the password.
      expect((await otpRow(owner.email, 'reset_password')).attempts).toBe(0);
      const res = await post('password/reset', { email: owner.email, code: reset, newPassword: NEW_PASSWORD });
      expect(res.statusCode).toBe(204);
    });
  });

  describe('POST /auth/password/reset', () => {
    it('should set the new password, revoke every session and clear the lockout', async () => {
      const owner = await registerOwner(app, 'reset');
      const other = await secondSession(owner);
      await db.query(
        "UPDATE users SET failed_login_count = 2, lockout_count = 3, locked_until = now() + interval '1 hour' WHERE id = $1",
        [owner.userId],
      );
      const code = await requestCode(owner.email, 'reset_password');
      const unlocked: unknown[] = [];
      app.get(EventEmitter2).once(AuthEvent.Unlocked, (payload: unknown) => unlocked.push(payload));

      const res = await post('password/reset', { email: owner.email, code, newPassword: NEW_PASSWORD });

      expect(res.statusCode).toBe(204);
      expect(unlocked).toEqual([expect.objectContaining({ userId: owner.userId, reason: 'password-reset' })]);
      expectProblem(await me(owner.accessToken), 401, 'session-revoked');
      expectProblem(await me(other), 401, 'session-revoked');
      const [counters] = await db.query(
        'SELECT failed_login_count, lockout_count, locked_until FROM users WHERE id = $1',
        [owner.userId],
      );
      expect(counters).toEqual({ failed_login_count: 0, lockout_count: 0, locked_until: null });
      expectProblem(await login(owner.email, TEST_PASSWORD), 401, 'invalid-credentials');
      const fresh = await login(owner.email, NEW_PASSWORD);
      expect(fresh.statusCode).toBe(200);
      expect((await me(fresh.json<{ accessToken: string }>().accessToken)).statusCode).toBe(200);
      // The code worked once.
      expectProblem(
        await post('password/reset', { email: owner.email, code, newPassword: `${NEW_PASSWORD}-2` }),
        400,
        'invalid-or-expired-code',
      );
    });

    it('should refuse a weak new password naming the field password, without using up the code', async () => {
      const owner = await registerOwner(app, 'reset-weak');
      const code = await requestCode(owner.email, 'reset_password');

      const weak = await post('password/reset', { email: owner.email, code, newPassword: 'short' });

      const body = expectProblem(weak, 400, 'validation-failed');
      expect(body.errors).toEqual([{ field: 'password', message: expect.stringContaining('at least 12') }]);
      expect(await otpRow(owner.email, 'reset_password')).toMatchObject({ attempts: 0, consumed_at: null });
      expect((await me(owner.accessToken)).statusCode).toBe(200);
      expect((await post('password/reset', { email: owner.email, code, newPassword: NEW_PASSWORD })).statusCode).toBe(
        204,
      );
      expect((await login(owner.email, NEW_PASSWORD)).statusCode).toBe(200);
    });

    it('should refuse a wrong code and leave the password alone', async () => {
      const owner = await registerOwner(app, 'reset-wrong');
      const code = await requestCode(owner.email, 'reset_password');

      expectProblem(
        await post('password/reset', { email: owner.email, code: otherCode(code), newPassword: NEW_PASSWORD }),
        400,
        'invalid-or-expired-code',
      );
      expect((await otpRow(owner.email, 'reset_password')).attempts).toBe(1);
      expect((await me(owner.accessToken)).statusCode).toBe(200);
      expect((await login(owner.email, TEST_PASSWORD)).statusCode).toBe(200);
    });
  });

  describe('POST /auth/password/change', () => {
    it('should refuse a wrong current password', async () => {
      const owner = await registerOwner(app, 'change-wrong');
      const res = await post(
        'password/change',
        { currentPassword: 'not-the-password-1', newPassword: NEW_PASSWORD },
        owner.accessToken,
      );
      expectProblem(res, 403, 'invalid-current-password');
      expect((await login(owner.email, TEST_PASSWORD)).statusCode).toBe(200);
    });

    it('should refuse a weak new password naming the field password', async () => {
      const owner = await registerOwner(app, 'change-weak');
      const res = await post(
        'password/change',
        { currentPassword: TEST_PASSWORD, newPassword: 'password1234' },
        owner.accessToken,
      );
      expect(expectProblem(res, 400, 'validation-failed').errors).toEqual([
        { field: 'password', message: expect.stringContaining('too common') },
      ]);
    });

    it('should need a token', async () => {
      expectProblem(
        await post('password/change', { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }),
        401,
        'missing-token',
      );
    });

    it('should change the password, revoke the other sessions and keep the current one', async () => {
      const owner = await registerOwner(app, 'change');
      const other = await secondSession(owner);

      const res = await post(
        'password/change',
        { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD },
        owner.accessToken,
      );

      expect(res.statusCode).toBe(204);
      expect((await me(owner.accessToken)).statusCode).toBe(200);
      expectProblem(await me(other), 401, 'session-revoked');
      expectProblem(await login(owner.email, TEST_PASSWORD), 401, 'invalid-credentials');
      expect((await login(owner.email, NEW_PASSWORD)).statusCode).toBe(200);
    });
  });

  describe('POST /auth/email/change', () => {
    /** Makes the session's last proof of a credential (login, step-up) older than STEP_UP_MAX_AGE_SECONDS. */
    const expireStepUp = (sessionId: string) =>
      db.query("UPDATE sessions SET step_up_at = now() - interval '1 day' WHERE id = $1", [sessionId]);

    it('should need a recent step-up', async () => {
      const owner = await registerOwner(app, 'email-nostep');
      await expireStepUp(owner.sessionId);
      const newEmail = uniqueEmail('email-next');

      const res = await post('email/change', { newEmail }, owner.accessToken);

      expectProblem(res, 403, 'step-up-required');
      expect((await me(owner.accessToken)).json()).toMatchObject({ email: owner.email });
    });

    it('should change the address after a step-up and mail a verify_email code to the new one', async () => {
      const owner = await registerOwner(app, 'email-old');
      const ownerVerify = await requestCode(owner.email, 'verify_email');
      expect((await verify(owner.email, 'verify_email', ownerVerify)).statusCode).toBe(200);
      await expireStepUp(owner.sessionId);
      expectProblem(
        await post('step-up', { password: 'wrong-password-123' }, owner.accessToken),
        403,
        'invalid-current-password',
      );
      expectProblem(
        await post('email/change', { newEmail: uniqueEmail('email-no') }, owner.accessToken),
        403,
        'step-up-required',
      );
      expect((await post('step-up', { password: TEST_PASSWORD }, owner.accessToken)).statusCode).toBe(204);
      const newEmail = uniqueEmail('email-new');

      const res = await post('email/change', { newEmail: newEmail.toUpperCase() }, owner.accessToken);

      expect(res.statusCode).toBe(204);
      const code = await nextCode(newEmail, 'verify_email', 0);
      expect(code).toMatch(/^\d{6}$/);
      expect((await me(owner.accessToken)).json()).toMatchObject({ email: newEmail, emailVerified: false });
      expectProblem(await login(owner.email, TEST_PASSWORD), 401, 'invalid-credentials');
      expect((await login(newEmail, TEST_PASSWORD)).statusCode).toBe(200);

      expect((await verify(newEmail, 'verify_email', code)).json()).toEqual({ verified: true });
      expect((await me(owner.accessToken)).json()).toMatchObject({ email: newEmail, emailVerified: true });
    });

    it('should not let a code mailed to an address before it changed hands log in its new owner', async () => {
      const previous = await registerOwner(app, 'email-prev');
      const address = previous.email;
      const stale = await requestCode(address, 'login');
      const staleReset = await requestCode(address, 'reset_password');
      // The previous owner moves away (a fresh login counts as a step-up) and someone else takes the address.
      expect(
        (await post('email/change', { newEmail: uniqueEmail('email-moved') }, previous.accessToken)).statusCode,
      ).toBe(204);
      const next = await registerOwner(app, 'email-next');
      expect((await post('email/change', { newEmail: address }, next.accessToken)).statusCode).toBe(204);

      expectProblem(await verify(address, 'login', stale), 400, 'invalid-or-expired-code');
      expectProblem(
        await post('password/reset', { email: address, code: staleReset, newPassword: NEW_PASSWORD }),
        400,
        'invalid-or-expired-code',
      );
      expect((await login(address, TEST_PASSWORD)).statusCode).toBe(200);
    });

    it('should refuse an address another account already uses', async () => {
      const owner = await registerOwner(app, 'email-taker');
      const other = await registerOwner(app, 'email-taken');
      expect((await post('step-up', { password: TEST_PASSWORD }, owner.accessToken)).statusCode).toBe(204);

      const res = await post('email/change', { newEmail: other.email.toUpperCase() }, owner.accessToken);

      expectProblem(res, 409, 'email-taken');
      expect((await me(owner.accessToken)).json()).toMatchObject({ email: owner.email });
    });
  });
});
