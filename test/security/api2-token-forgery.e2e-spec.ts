import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign as cryptoSign,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearer, TEST_PASSWORD } from '../helpers/auth';
import { createTestApp } from '../helpers/test-app';
import { expectProblemOf } from './support/expect';
import { expectJson, OrgFixture, send, sessionOf, type Json } from './support/world';

/*
 * Forged, misused and dead tokens against protected routes of every kind (self-service, permission-checked,
 * organization-level). Complements test/auth/tokens.e2e-spec.ts (which pins the token format on /auth/me):
 * here the question is only whether anything but a live, correctly signed access token gets in — and whether
 * the server can be made to fetch keys from a URL the token names (a local HTTP server counts its requests).
 */

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function forge(header: Json, payload: Json, signer: ((input: Buffer) => Buffer) | null): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${signer ? signer(Buffer.from(input)).toString('base64url') : ''}`;
}

const rs256 = (key: KeyObject) => (input: Buffer) => cryptoSign('sha256', input, key);
const hs256 = (secret: string | Buffer) => (input: Buffer) => createHmac('sha256', secret).update(input).digest();

function decode(token: string): { header: Json; payload: Json } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Json,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Json,
  };
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, independent of the server's implementation. */
function totp(secret: string, at = Date.now()): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of secret.replace(/=+$/, '').toUpperCase())
    bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g)?.map((byte) => parseInt(byte, 2)) ?? []);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
  const hmac = createHmac('sha1', key).update(counter).digest();
  const offset = hmac[hmac.length - 1] & 0x0f;
  return String((hmac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

function expectUnauthorized(res: LightMyRequestResponse, context: string, code = 'invalid-token'): void {
  expectProblemOf(res, 401, context);
  expect({ context, type: res.json<Json>().type }).toEqual({ context, type: `urn:atrium:problem:${code}` });
  expect({ context, challenge: res.headers['www-authenticate'] }).toEqual({
    context,
    challenge: 'Bearer error="invalid_token"',
  });
}

/** Protected routes of every kind: the guard must stop forgeries before any of them runs. */
const TARGETS: [string, string][] = [
  ['GET', '/api/v1/auth/me'],
  ['GET', '/api/v1/customers'],
  ['GET', '/api/v1/audit-logs'],
  ['GET', '/api/v1/organizations/current'],
  ['DELETE', '/api/v1/organizations/current'],
];

describe('API2:2023 Broken Authentication: token forgery and misuse — ASVS 5.0 V9.1.1, V9.1.2, V9.1.3, V9.2.1, V9.2.2, V9.2.3, V7.4.1, V7.4.2; API7:2023 SSRF (jku/x5u)', () => {
  let app: NestFastifyApplication;
  let org: OrgFixture;
  let realKey: KeyObject;
  let realKid: string;
  let attackerKey: KeyObject;
  let keyServer: Server;
  let keyServerHits: string[];
  let keyServerUrl: string;

  /** The owner's real claims, fresh jti/iat/exp: valid as they are, so each case changes one thing. */
  const claims = (overrides: Json = {}): Json => {
    const iat = Math.floor(Date.now() / 1000);
    return { ...decode(org.owner.accessToken).payload, jti: randomUUID(), iat, exp: iat + 900, ...overrides };
  };
  const header = (overrides: Json = {}): Json => ({ alg: 'RS256', typ: 'at+jwt', kid: realKid, ...overrides });
  const attackerJwk = (): Json => ({
    ...(createPublicKey(attackerKey).export({ format: 'jwk' }) as Json),
    kid: 'attacker-key',
    alg: 'RS256',
    use: 'sig',
  });

  beforeAll(async () => {
    keyServerHits = [];
    keyServer = createServer((request, response) => {
      keyServerHits.push(`${request.method} ${request.url}`);
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [attackerJwk()] }));
    });
    await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
    keyServerUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;

    attackerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    realKey = createPrivateKey(readFileSync(process.env.JWT_PRIVATE_KEY_FILE ?? '', 'utf8'));
    app = await createTestApp();
    org = await OrgFixture.create(app, 'tokens');
    realKid = decode(org.owner.accessToken).header.kid as string;
  });

  afterAll(async () => {
    await app.close();
    await new Promise<void>((resolve) => keyServer.close(() => resolve()));
  });

  it('should accept the control: the real key, the real claims (forged by the test)', async () => {
    for (const [method, url] of TARGETS.filter(([m]) => m === 'GET')) {
      const res = await send(app, method as 'GET', url, forge(header(), claims(), rs256(realKey)));
      expect({ url, status: res.statusCode }).toEqual({ url, status: 200 });
    }
  });

  const forgeries: [string, () => string][] = [
    // V9.1.2: the algorithm allowlist.
    ['alg none, no signature', () => forge(header({ alg: 'none' }), claims(), null)],
    [
      'alg None with the real signature',
      () =>
        `${forge(header({ alg: 'None' }), claims(), null)}${forge(header(), claims(), rs256(realKey)).split('.')[2]}`,
    ],
    [
      'HS256 keyed with the RSA public key (PEM) — algorithm confusion',
      () =>
        forge(
          header({ alg: 'HS256' }),
          claims(),
          hs256(createPublicKey(realKey).export({ format: 'pem', type: 'spki' })),
        ),
    ],
    [
      'HS256 keyed with the public key’s DER bytes',
      () =>
        forge(
          header({ alg: 'HS256' }),
          claims(),
          hs256(createPublicKey(realKey).export({ format: 'der', type: 'spki' })),
        ),
    ],
    // V9.1.1: the signature.
    ['RS256 signed by a foreign key under the real kid', () => forge(header(), claims(), rs256(attackerKey))],
    [
      'RS256 signed by a foreign key under its own kid',
      () => forge(header({ kid: 'attacker-key' }), claims(), rs256(attackerKey)),
    ],
    [
      'claims edited after signing',
      () => {
        const [h, , s] = forge(header(), claims(), rs256(realKey)).split('.');
        return `${h}.${b64url(claims({ org: randomUUID() }))}.${s}`;
      },
    ],
    // Malicious kid: path traversal, SQL, oversized, a file on disk used as an HMAC key.
    ['kid ../../etc/passwd', () => forge(header({ kid: '../../../../etc/passwd' }), claims(), rs256(attackerKey))],
    [
      'kid /dev/null with HS256 and an empty key',
      () => forge(header({ alg: 'HS256', kid: '/dev/null' }), claims(), hs256('')),
    ],
    [
      'kid naming the signing key file, HS256 keyed with its contents',
      () =>
        forge(
          header({ alg: 'HS256', kid: process.env.JWT_PRIVATE_KEY_FILE }),
          claims(),
          hs256(readFileSync(process.env.JWT_PRIVATE_KEY_FILE ?? '')),
        ),
    ],
    ["kid ' OR '1'='1", () => forge(header({ kid: "' OR '1'='1" }), claims(), rs256(attackerKey))],
    ['kid of 8 KB', () => forge(header({ kid: 'k'.repeat(8192) }), claims(), rs256(attackerKey))],
    ['kid with a NUL byte', () => forge(header({ kid: `${realKid}\u0000` }), claims(), rs256(attackerKey))],
    // V9.1.3: key-locating headers must never be followed.
    [
      'jku pointing at a key server',
      () => forge(header({ kid: 'attacker-key', jku: `${keyServerUrl}/jwks.json` }), claims(), rs256(attackerKey)),
    ],
    [
      'x5u pointing at a key server',
      () => forge(header({ kid: 'attacker-key', x5u: `${keyServerUrl}/cert.pem` }), claims(), rs256(attackerKey)),
    ],
    [
      'jwk embedding the attacker’s key',
      () => forge(header({ kid: 'attacker-key', jwk: attackerJwk() }), claims(), rs256(attackerKey)),
    ],
    [
      'jku with the real key and kid',
      () => forge(header({ jku: `${keyServerUrl}/real.json` }), claims(), rs256(realKey)),
    ],
    // V9.2.2: token type.
    ['typ JWT', () => forge(header({ typ: 'JWT' }), claims(), rs256(realKey))],
    ['typ refresh+jwt', () => forge(header({ typ: 'refresh+jwt' }), claims(), rs256(realKey))],
    ['no typ', () => forge({ alg: 'RS256', kid: realKid }, claims(), rs256(realKey))],
    // V9.2.1: validity window.
    [
      'expired an hour ago',
      () =>
        forge(
          header(),
          claims({ iat: Math.floor(Date.now() / 1000) - 4500, exp: Math.floor(Date.now() / 1000) - 3600 }),
          rs256(realKey),
        ),
    ],
    [
      'not valid before an hour from now',
      () => forge(header(), claims({ nbf: Math.floor(Date.now() / 1000) + 3600 }), rs256(realKey)),
    ],
    // V9.2.3: audience and issuer.
    ['wrong aud', () => forge(header(), claims({ aud: 'another-api' }), rs256(realKey))],
    ['wrong iss', () => forge(header(), claims({ iss: 'https://evil.example' }), rs256(realKey))],
  ];

  it.each(forgeries)('should answer 401 with a Bearer challenge to %s, on every kind of route', async (_name, make) => {
    const token = make();
    for (const [method, url] of TARGETS) {
      expectUnauthorized(await send(app, method as 'GET', url, token), `${method} ${url}`);
    }
  });

  it('should never have fetched a key from a URL a token named (jku/x5u)', () => {
    expect(keyServerHits).toEqual([]);
  });

  describe('tokens of another kind used as access tokens (ASVS V9.2.2)', () => {
    it('should refuse the refresh token', async () => {
      for (const [method, url] of TARGETS) {
        expectUnauthorized(await send(app, method as 'GET', url, org.owner.refreshToken), `refresh token on ${url}`);
      }
    });

    it('should refuse the MFA challenge token of a 2FA login', async () => {
      const member = await OrgFixture.create(app, 'mfa');
      const setup = expectJson<{ secret: string }>(
        await send(app, 'POST', '/api/v1/auth/2fa/setup', member.owner.accessToken),
        200,
        '2fa setup',
      );
      expectJson(
        await send(app, 'POST', '/api/v1/auth/2fa/enable', member.owner.accessToken, {
          json: { code: totp(setup.secret) },
        }),
        200,
        '2fa enable',
      );
      const login = expectJson<{ mfaRequired: boolean; mfaToken: string }>(
        await send(app, 'POST', '/api/v1/auth/login', null, {
          json: { email: member.owner.email, password: TEST_PASSWORD },
        }),
        200,
        'password step',
      );
      expect(login.mfaRequired).toBe(true);
      for (const [method, url] of TARGETS) {
        expectUnauthorized(await send(app, method as 'GET', url, login.mfaToken), `mfa token on ${url}`);
      }
    });

    it('should refuse an OTP-verify or invitation code shaped value and a JWKS document', async () => {
      const jwks = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      for (const token of ['123456', jwks.body, Buffer.from(jwks.body).toString('base64url')]) {
        expectUnauthorized(await send(app, 'GET', '/api/v1/auth/me', token), 'not a token');
      }
    });
  });

  describe('tokens whose session ended (ASVS V7.4.1, V7.4.2)', () => {
    async function secondDevice(target: OrgFixture): Promise<string> {
      return expectJson<{ accessToken: string }>(
        await send(app, 'POST', '/api/v1/auth/login', null, {
          json: { email: target.owner.email, password: TEST_PASSWORD },
        }),
        200,
        'login',
      ).accessToken;
    }

    it('should refuse the still-unexpired token of a revoked session everywhere', async () => {
      const device = await secondDevice(org);
      expect((await send(app, 'GET', '/api/v1/customers', device)).statusCode).toBe(200);
      expect(
        (await send(app, 'DELETE', `/api/v1/auth/sessions/${sessionOf(device)}`, org.owner.accessToken)).statusCode,
      ).toBe(204);
      for (const [method, url] of TARGETS) {
        expectUnauthorized(
          await send(app, method as 'GET', url, device),
          `revoked session on ${url}`,
          'session-revoked',
        );
      }
    });

    it('should refuse the token of a logged-out session', async () => {
      const res = await send(app, 'POST', '/api/v1/auth/login', null, {
        json: { email: org.owner.email, password: TEST_PASSWORD },
      });
      const pair = expectJson<{ accessToken: string; refreshToken: string }>(res, 200, 'login');
      expect(
        (
          await send(app, 'POST', '/api/v1/auth/logout', pair.accessToken, {
            json: { refreshToken: pair.refreshToken },
          })
        ).statusCode,
      ).toBe(204);
      expectUnauthorized(
        await send(app, 'GET', '/api/v1/customers', pair.accessToken),
        'logged out',
        'session-revoked',
      );
    });

    it('should refuse the tokens of a disabled user at once', async () => {
      const target = await OrgFixture.create(app, 'disabled');
      const memberId = await target.member(null);
      const [row] = await target.db.query<{ email: string }[]>('SELECT email FROM users WHERE id = $1', [memberId]);
      await target.assignment(memberId, await target.role(['customers:read']), null);
      const token = expectJson<{ accessToken: string }>(
        await send(app, 'POST', '/api/v1/auth/login', null, { json: { email: row.email, password: TEST_PASSWORD } }),
        200,
        'member login',
      ).accessToken;
      expect((await send(app, 'GET', '/api/v1/customers', token)).statusCode).toBe(200);
      expect((await send(app, 'POST', `/api/v1/users/${memberId}/disable`, target.owner.accessToken)).statusCode).toBe(
        200,
      );
      expectUnauthorized(await send(app, 'GET', '/api/v1/customers', token), 'disabled user', 'session-revoked');
    });
  });

  it('should not accept a token in the query string or a cookie (ASVS V14.2.1)', async () => {
    const token = org.owner.accessToken;
    for (const res of [
      await app.inject({ method: 'GET', url: `/api/v1/auth/me?access_token=${token}` }),
      await app.inject({
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: `access_token=${token}; token=${token}` },
      }),
      await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { 'x-access-token': token } }),
    ]) {
      expect(res.statusCode).toBe(401);
    }
    expect((await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) })).statusCode).toBe(200);
  });
});
