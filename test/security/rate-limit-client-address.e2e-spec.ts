import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import { randomInt } from 'node:crypto';
import { TEST_PASSWORD } from '../helpers/auth';
import { createTestApp } from '../helpers/test-app';
import { expectProblemOf } from './support/expect';
import { OrgFixture } from './support/world';

/*
 * The auth rate limit is per client IP. A client must not get a fresh bucket by inventing forwarding
 * headers; behind a trusted proxy, the proxy's X-Forwarded-For entry (the rightmost one it appended) names
 * the client, and entries the client prepended itself do not count. Each test uses addresses of its own
 * (TEST-NET ranges), so buckets never collide with other specs sharing the run's Redis prefix.
 *
 * `app.inject({ remoteAddress })` sets the socket address Fastify sees, i.e. the TCP peer.
 */

const AUTH_MAX = 3;
/** A long window: no test sequence can straddle a reset. */
const WINDOW = { RATE_LIMIT_WINDOW_SECONDS: '3600' };

let octet = randomInt(1, 200);
/** A fresh client address: its own rate-limit bucket. */
const freshAddress = (net = '198.51.100'): string => `${net}.${(octet++ % 250) + 1}`;

function login(
  app: NestFastifyApplication,
  remoteAddress: string,
  headers: Record<string, string> = {},
  email = 'nobody@example.test',
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    remoteAddress,
    headers,
    payload: { email, password: 'wrong-password-for-sure' },
  });
}

function expectLimited(res: LightMyRequestResponse, context: string): void {
  expectProblemOf(res, 429, context);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
}

function expectNotLimited(res: LightMyRequestResponse, context: string): void {
  expect({ context, status: res.statusCode }).toEqual({ context, status: 401 });
}

const SPOOF_NAMES = [
  'X-Forwarded-For',
  'X-Forwarded-For chain',
  'X-Real-IP',
  'Forwarded (RFC 7239)',
  'X-Client-IP, CF-Connecting-IP and True-Client-IP',
];

/** Spoofing headers a client might send (SPOOF_NAMES), each with a value never used before. */
const spoofs = (i: number): Record<string, string>[] => [
  { 'x-forwarded-for': `203.0.113.${i}` },
  { 'x-forwarded-for': `203.0.113.${i}, 192.0.2.${i}` },
  { 'x-real-ip': `203.0.113.${i}` },
  { forwarded: `for=203.0.113.${i}` },
  { 'x-client-ip': `203.0.113.${i}`, 'cf-connecting-ip': `203.0.113.${i}`, 'true-client-ip': `203.0.113.${i}` },
];

describe('API4:2023 / API2:2023 spoofed client addresses against the auth rate limit — ASVS 5.0 V15.3.4, V4.1.3, V6.3.1', () => {
  describe('with TRUST_PROXY=false (the default)', () => {
    let app: NestFastifyApplication;

    beforeAll(async () => {
      app = await createTestApp({ ...WINDOW, TRUST_PROXY: 'false', RATE_LIMIT_AUTH_MAX: String(AUTH_MAX) });
    });

    afterAll(async () => {
      await app.close();
    });

    it.each(SPOOF_NAMES.map((name, i) => [name, i] as const))(
      'should not give a fresh bucket for a rotated %s header',
      async (_name, index) => {
        const client = freshAddress();
        for (let i = 1; i <= AUTH_MAX; i++)
          expectNotLimited(await login(app, client, spoofs(i)[index]), `attempt ${i}`);
        for (let i = AUTH_MAX + 1; i <= AUTH_MAX + 3; i++)
          expectLimited(await login(app, client, spoofs(i)[index]), `attempt ${i}`);
      },
    );

    it('should still give another real client its own bucket (control)', async () => {
      const client = freshAddress();
      for (let i = 1; i <= AUTH_MAX; i++) await login(app, client);
      expectLimited(await login(app, client), 'the limited client');
      expectNotLimited(await login(app, freshAddress()), 'another client');
    });
  });

  describe('with TRUST_PROXY=127.0.0.1 (behind a reverse proxy)', () => {
    let app: NestFastifyApplication;
    const proxy = '127.0.0.1';

    beforeAll(async () => {
      app = await createTestApp({ ...WINDOW, TRUST_PROXY: proxy, RATE_LIMIT_AUTH_MAX: String(AUTH_MAX) });
    });

    afterAll(async () => {
      await app.close();
    });

    it('should give each client named by the proxy a bucket of its own', async () => {
      const clientA = freshAddress('203.0.113');
      const clientB = freshAddress('203.0.113');
      for (let i = 1; i <= AUTH_MAX; i++)
        expectNotLimited(await login(app, proxy, { 'x-forwarded-for': clientA }), `A ${i}`);
      expectLimited(await login(app, proxy, { 'x-forwarded-for': clientA }), 'A over the limit');
      expectNotLimited(await login(app, proxy, { 'x-forwarded-for': clientB }), 'B');
    });

    it('should ignore the entries a client prepends: the proxy-appended (rightmost) address counts', async () => {
      const client = freshAddress('203.0.113');
      for (let i = 1; i <= AUTH_MAX + 2; i++) {
        // What a proxy forwards when the client itself sent "X-Forwarded-For: <forged>".
        const res = await login(app, proxy, { 'x-forwarded-for': `192.0.2.${i}, ${client}` });
        if (i <= AUTH_MAX) expectNotLimited(res, `attempt ${i}`);
        else expectLimited(res, `attempt ${i} with a new forged entry`);
      }
    });

    it('should ignore X-Forwarded-For from a peer that is not the trusted proxy', async () => {
      const direct = freshAddress();
      for (let i = 1; i <= AUTH_MAX; i++)
        expectNotLimited(await login(app, direct, { 'x-forwarded-for': `203.0.113.${200 + i}` }), `attempt ${i}`);
      expectLimited(await login(app, direct, { 'x-forwarded-for': '203.0.113.250' }), 'rotated header, same peer');
    });
  });

  describe('credential stuffing from many addresses (ASVS V6.3.1)', () => {
    it('should lock the account after LOCKOUT_THRESHOLD failures whatever address they come from', async () => {
      const app = await createTestApp({ TRUST_PROXY: '127.0.0.1', LOCKOUT_THRESHOLD: '3' });
      try {
        const victim = await OrgFixture.create(app, 'stuffed');
        for (let i = 1; i <= 3; i++) {
          const res = await login(
            app,
            '127.0.0.1',
            { 'x-forwarded-for': freshAddress('203.0.113') },
            victim.owner.email,
          );
          // The failure that reaches the threshold is already answered as locked.
          expect(res.statusCode).toBe(i < 3 ? 401 : 423);
        }
        // Even the right password, from yet another address, is refused while locked (no oracle either).
        const locked = await app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress: '127.0.0.1',
          headers: { 'x-forwarded-for': freshAddress('203.0.113') },
          payload: { email: victim.owner.email, password: TEST_PASSWORD },
        });
        expectProblemOf(locked, 423, 'locked account');
      } finally {
        await app.close();
      }
    });
  });
});
