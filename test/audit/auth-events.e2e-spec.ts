import { execFileSync } from 'node:child_process';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { bearer, registerOwner, TEST_PASSWORD, type TestAccount } from '../helpers/auth';
import { auditEntries, firstBrokenLink } from '../helpers/audit';
import { createTestApp } from '../helpers/test-app';

const UA = 'audit-test-agent/1.0';

function totp(secret: string): string {
  return execFileSync('/usr/bin/oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();
}

describe('Audit of auth events', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await createTestApp({ LOCKOUT_THRESHOLD: '3' });
  });

  afterAll(async () => {
    await app.close();
  });

  const post = (url: string, payload: object, token?: string, requestId?: string) =>
    app.inject({
      method: 'POST',
      url: `/api/v1${url}`,
      payload,
      headers: {
        'user-agent': UA,
        ...(token ? bearer(token) : {}),
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
    });

  async function actions(owner: TestAccount): Promise<string[]> {
    return (await auditEntries(app, owner.organizationId)).map((entry) => `${entry.action}:${entry.outcome}`);
  }

  it('should record registration and login success with actor, ip, user agent and request id', async () => {
    const owner = await registerOwner(app, 'audit-login');
    const res = await post('/auth/login', { email: owner.email, password: TEST_PASSWORD }, undefined, 'audit-req-1');
    expect(res.statusCode).toBe(200);
    const entries = await auditEntries(app, owner.organizationId);
    expect(entries[0]).toMatchObject({ action: 'auth.registered', outcome: 'success', actorId: owner.userId, seq: 1 });
    const login = entries.find((entry) => entry.requestId === 'audit-req-1');
    expect(login).toMatchObject({
      action: 'auth.login.succeeded',
      outcome: 'success',
      organizationId: owner.organizationId,
      actorId: owner.userId,
      resourceType: 'users',
      resourceId: owner.userId,
      ip: '127.0.0.1',
      userAgent: UA,
    });
    expect(firstBrokenLink(entries)).toBeNull();
  });

  it('should record failed logins and the lockout as failures, without the password', async () => {
    const owner = await registerOwner(app, 'audit-lockout');
    for (let i = 0; i < 3; i++) {
      const res = await post('/auth/login', { email: owner.email, password: 'wrong-Password-123' });
      expect([401, 423]).toContain(res.statusCode);
    }
    expect(await actions(owner)).toEqual(expect.arrayContaining(['auth.login.failed:failure', 'auth.lockout:failure']));
    const entries = await auditEntries(app, owner.organizationId);
    expect(entries.filter((entry) => entry.action === 'auth.login.failed')).toHaveLength(3);
    expect(entries.find((entry) => entry.action === 'auth.login.failed')?.details).toMatchObject({
      reason: 'wrong-password',
    });
    expect(JSON.stringify(entries)).not.toContain('wrong-Password-123');
    expect(firstBrokenLink(entries)).toBeNull();
  });

  it('should record a failed login for an unknown email in the global chain', async () => {
    const email = `nobody-${Date.now()}@atrium.test`;
    expect((await post('/auth/login', { email, password: 'whatever-Password-1' })).statusCode).toBe(401);
    const global = await auditEntries(app, 'global');
    const entry = global.find((candidate) => candidate.details?.email === email);
    expect(entry).toMatchObject({
      action: 'auth.login.failed',
      outcome: 'failure',
      organizationId: null,
      actorId: null,
    });
    // Linked, since it was written before auditEntries ran the chainer. Other spec files running meanwhile
    // write to the global chain too; their entries committed after that run are still pending (seq null, last)
    // and are left out of the chain check.
    expect(entry?.seq).toEqual(expect.any(Number));
    expect(firstBrokenLink(global.filter((linked) => linked.seq !== null))).toBeNull();
  });

  it('should record 2FA enable, password change and session revoke without secrets', async () => {
    const owner = await registerOwner(app, 'audit-2fa');
    const setup = await post('/auth/2fa/setup', {}, owner.accessToken);
    const { secret } = setup.json<{ secret: string }>();
    const enable = await post('/auth/2fa/enable', { code: totp(secret) }, owner.accessToken);
    expect(enable.statusCode).toBe(200);
    const { recoveryCodes } = enable.json<{ recoveryCodes: string[] }>();

    const newPassword = 'another-Plausible-horse-77';
    const change = await post(
      '/auth/password/change',
      { currentPassword: TEST_PASSWORD, newPassword },
      owner.accessToken,
    );
    expect(change.statusCode).toBeLessThan(300);

    // A second session, revoked from the first.
    const second = await post('/auth/login', { email: owner.email, password: newPassword });
    const { mfaToken } = second.json<{ mfaToken: string }>();
    const completed = await post('/auth/login/2fa', { mfaToken, code: recoveryCodes[0] });
    expect(completed.statusCode).toBe(200);
    const me = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: bearer(completed.json<{ accessToken: string }>().accessToken),
    });
    const secondSessionId = me.json<{ sessionId: string }>().sessionId;
    const revoke = await app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/sessions/${secondSessionId}`,
      headers: bearer(owner.accessToken),
    });
    expect(revoke.statusCode).toBe(204);

    const entries = await auditEntries(app, owner.organizationId);
    expect(entries.map((entry) => entry.action)).toEqual(
      expect.arrayContaining([
        'auth.two-factor.setup',
        'auth.two-factor.enabled',
        'auth.password.changed',
        'auth.recovery-code.used',
        'auth.session.revoked',
      ]),
    );
    expect(entries.find((entry) => entry.action === 'auth.session.revoked')).toMatchObject({
      resourceType: 'sessions',
      resourceId: secondSessionId,
      outcome: 'success',
      details: { reason: 'revoked-by-user' },
    });
    const text = JSON.stringify(entries);
    for (const secretValue of [secret, newPassword, TEST_PASSWORD, ...recoveryCodes])
      expect(text).not.toContain(secretValue);
    expect(firstBrokenLink(entries)).toBeNull();
  });

  it('should record refresh-token reuse as a failure and the revoked session', async () => {
    const owner = await registerOwner(app, 'audit-reuse');
    const first = await post('/auth/refresh', { refreshToken: owner.refreshToken });
    expect(first.statusCode).toBe(200);
    // Past the grace period for parallel tabs: a reuse now is a theft.
    await app
      .get(DataSource)
      .query(
        "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 hour' WHERE rotated_at IS NOT NULL AND session_id = $1",
        [owner.sessionId],
      );
    const reused = await post('/auth/refresh', { refreshToken: owner.refreshToken });
    expect(reused.statusCode).toBe(401);
    expect(await actions(owner)).toEqual(
      expect.arrayContaining(['auth.refresh-token.reused:failure', 'auth.session.revoked:success']),
    );
  });
});
