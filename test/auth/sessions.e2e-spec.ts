import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import { AuthEvent } from '../../src/modules/auth/auth.events';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';

interface Pair {
  accessToken: string;
  refreshToken: string;
}

describe('Refresh tokens and sessions', () => {
  let app: NestFastifyApplication;
  let events: string[];

  beforeAll(async () => {
    app = await createTestApp({ REFRESH_REUSE_GRACE_SECONDS: '2' });
    app.get(EventEmitter2).onAny((name: string | string[]) => events.push(String(name)));
  });

  beforeEach(() => {
    events = [];
  });

  afterAll(async () => {
    await app.close();
  });

  const refresh = (refreshToken: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });
  const me = (accessToken: string) => app.inject({ url: '/api/v1/auth/me', headers: bearer(accessToken) });

  it('should rotate: the new pair works and can itself be rotated', async () => {
    const owner = await registerOwner(app);
    const first = await refresh(owner.refreshToken);
    expect(first.statusCode).toBe(200);
    const pair = first.json<Pair>();
    expect(pair.refreshToken).not.toBe(owner.refreshToken);
    expect((await me(pair.accessToken)).statusCode).toBe(200);
    const second = await refresh(pair.refreshToken);
    expect(second.statusCode).toBe(200);
  });

  it('should give two racing refreshes with the same token the same new pair (parallel tabs)', async () => {
    const owner = await registerOwner(app);
    const [a, b] = await Promise.all([refresh(owner.refreshToken), refresh(owner.refreshToken)]);
    expect(a.statusCode).toBe(200);
    expect(b.statusCode).toBe(200);
    expect(a.json<Pair>().refreshToken).toBe(b.json<Pair>().refreshToken);
    expect(a.json<Pair>().accessToken).toBe(b.json<Pair>().accessToken);
    // The session survived: the shared new pair keeps working.
    expect((await me(a.json<Pair>().accessToken)).statusCode).toBe(200);
    expect((await refresh(a.json<Pair>().refreshToken)).statusCode).toBe(200);
  });

  it('should treat reuse after the grace window as theft: the whole session is revoked and audited', async () => {
    const owner = await registerOwner(app);
    const pair = (await refresh(owner.refreshToken)).json<Pair>();
    await app
      .get(DataSource)
      .query(
        "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '5 seconds' WHERE rotated_at IS NOT NULL AND session_id = $1",
        [owner.sessionId],
      );
    const reuse = await refresh(owner.refreshToken);
    expectProblem(reuse, 401, 'refresh-token-reused');
    expect(events).toEqual(expect.arrayContaining([AuthEvent.RefreshTokenReused, AuthEvent.SessionRevoked]));
    // Everything of that session is dead: the thief's and the victim's tokens alike.
    expectProblem(await me(pair.accessToken), 401, 'session-revoked');
    expectProblem(await refresh(pair.refreshToken), 401, 'invalid-refresh-token');
  });

  it('should refuse an unknown, malformed or expired refresh token', async () => {
    expectProblem(await refresh('x'.repeat(43)), 401, 'invalid-refresh-token');
    expectProblem(await refresh('short'), 400, 'validation-failed');
    const owner = await registerOwner(app);
    await app
      .get(DataSource)
      .query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id = $1", [
        owner.sessionId,
      ]);
    expectProblem(await refresh(owner.refreshToken), 401, 'invalid-refresh-token');
  });

  describe('sessions API', () => {
    let owner: TestAccount;
    let laptop: Pair;

    beforeAll(async () => {
      owner = await registerOwner(app);
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0' },
        payload: { email: owner.email, password: owner.password },
      });
      laptop = res.json<Pair>();
    });

    it('should list active sessions with device, ip, user agent and the current one marked', async () => {
      const res = await app.inject({ url: '/api/v1/auth/sessions', headers: bearer(laptop.accessToken) });
      expect(res.statusCode).toBe(200);
      const sessions = res.json<{ id: string; current: boolean; device: string; ip: string; userAgent: string }[]>();
      expect(sessions).toHaveLength(2);
      const current = sessions.find((s) => s.current);
      expect(current).toMatchObject({
        device: 'Firefox on Linux',
        ip: '127.0.0.1',
        userAgent: expect.stringContaining('Firefox'),
      });
      expect(sessions.filter((s) => s.current)).toHaveLength(1);
    });

    it('should revoke one session: its access token fails at once, on every API instance, the other session lives', async () => {
      const secondInstance = await createTestApp();
      try {
        // The second instance accepts (and caches) the token before the revocation.
        expect(
          (await secondInstance.inject({ url: '/api/v1/auth/me', headers: bearer(owner.accessToken) })).statusCode,
        ).toBe(200);
        const del = await app.inject({
          method: 'DELETE',
          url: `/api/v1/auth/sessions/${owner.sessionId}`,
          headers: bearer(laptop.accessToken),
        });
        expect(del.statusCode).toBe(204);
        expect(events).toContain(AuthEvent.SessionRevoked);
        expectProblem(await me(owner.accessToken), 401, 'session-revoked');
        expectProblem(
          await secondInstance.inject({ url: '/api/v1/auth/me', headers: bearer(owner.accessToken) }),
          401,
          'session-revoked',
        );
        expectProblem(await refresh(owner.refreshToken), 401, 'invalid-refresh-token');
        expect((await me(laptop.accessToken)).statusCode).toBe(200);
      } finally {
        await secondInstance.close();
      }
    });

    it("should not let a user revoke another user's session (404, no existence leak)", async () => {
      const stranger = await registerOwner(app, 'stranger');
      const res = await app.inject({
        method: 'DELETE',
        url: `/api/v1/auth/sessions/${stranger.sessionId}`,
        headers: bearer(laptop.accessToken),
      });
      expectProblem(res, 404, 'session-not-found');
      expect((await me(stranger.accessToken)).statusCode).toBe(200);
    });

    it('should log out: the session of the refresh token ends', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: bearer(laptop.accessToken),
        payload: { refreshToken: laptop.refreshToken },
      });
      expect(res.statusCode).toBe(204);
      expectProblem(await me(laptop.accessToken), 401, 'session-revoked');
      expectProblem(await refresh(laptop.refreshToken), 401, 'invalid-refresh-token');
    });
  });

  it('should keep a session valid when its Redis state is lost (PostgreSQL is the durable copy)', async () => {
    const owner = await registerOwner(app);
    const { Redis } = await import('ioredis');
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    await redis.del(`${process.env.REDIS_KEY_PREFIX}session:${owner.sessionId}`);
    await redis.quit();
    expect((await me(owner.accessToken)).statusCode).toBe(200);
    await app.get(DataSource).query('UPDATE sessions SET revoked_at = now() WHERE id = $1', [owner.sessionId]);
    // Still cached as active for at most a minute; after the cache entry goes, PostgreSQL decides.
    const redis2 = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    await redis2.del(`${process.env.REDIS_KEY_PREFIX}session:${owner.sessionId}`);
    await redis2.quit();
    expectProblem(await me(owner.accessToken), 401, 'session-revoked');
  });
});
