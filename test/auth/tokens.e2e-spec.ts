import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import {
  constants,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomUUID,
  sign as cryptoSign,
  verify as cryptoVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiApp } from '../../src/api-app';
import { REDIS } from '../../src/core/redis/redis.module';
import { bearer, registerOwner, TEST_PASSWORD, type TestAccount } from '../helpers/auth';
import { expectProblem } from '../helpers/problem';
import { createTestApp, testConfig } from '../helpers/test-app';

/*
 * Everything here is built independently of the server's JWT library: tokens are forged with node:crypto
 * (header and payload JSON, base64url, raw signatures), key ids are recomputed per RFC 7638 and signatures
 * are checked against the published JWKS with node:crypto.
 */

type Json = Record<string, unknown>;
type Signer = ((input: Buffer) => Buffer) | null;
type KeySpec = { type: 'rsa'; bits: number } | { type: 'ec'; curve: string } | { type: 'ed25519' } | { type: 'ed448' };

interface PublicJwk extends JsonWebKey {
  kid: string;
  alg: string;
  use: string;
}

const ME = '/api/v1/auth/me';
const JWKS = '/.well-known/jwks.json';
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function envFile(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (test/setup/global-setup.ts sets it)`);
  return value;
}

function newPrivateKey(spec: KeySpec): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, _publicKey: KeyObject, privateKey: KeyObject): void =>
      error ? reject(error) : resolve(privateKey);
    switch (spec.type) {
      case 'rsa':
        return generateKeyPair('rsa', { modulusLength: spec.bits }, done);
      case 'ec':
        return generateKeyPair('ec', { namedCurve: spec.curve }, done);
      case 'ed25519':
        return generateKeyPair('ed25519', {}, done);
      case 'ed448':
        return generateKeyPair('ed448', {}, done);
    }
  });
}

function pkcs8(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

function spki(key: KeyObject): string {
  return createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString();
}

function writeKey(dir: string, name: string, pem: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, pem, { mode: 0o600 });
  return file;
}

const b64url = (value: Json): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function decodeToken(token: string): { header: Json; payload: Json } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Json,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Json,
  };
}

/** A compact JWS over exactly this header and payload; `null` signer gives an empty signature (alg none). */
function forge(header: Json, payload: Json, signer: Signer): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${signer ? signer(Buffer.from(input)).toString('base64url') : ''}`;
}

const signWith = {
  RS256: (key: KeyObject) => (input: Buffer) => cryptoSign('sha256', input, key),
  RS512: (key: KeyObject) => (input: Buffer) => cryptoSign('sha512', input, key),
  PS256: (key: KeyObject) => (input: Buffer) =>
    cryptoSign('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
  ES256: (key: KeyObject) => (input: Buffer) => cryptoSign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }),
  EdDSA: (key: KeyObject) => (input: Buffer) => cryptoSign(null, input, key),
  HS256: (secret: string | Buffer) => (input: Buffer) => createHmac('sha256', secret).update(input).digest(),
};

/** Checks a token's signature with a published JWK, as a third-party resource server would. */
function verifiesWith(token: string, jwk: JsonWebKey, alg: string): boolean {
  const [header, payload, signature] = token.split('.');
  const input = Buffer.from(`${header}.${payload}`);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const sig = Buffer.from(signature, 'base64url');
  switch (alg) {
    case 'RS256':
      return cryptoVerify('sha256', input, key, sig);
    case 'PS256':
      return cryptoVerify('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    case 'ES256':
      return cryptoVerify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig);
    case 'EdDSA':
      return cryptoVerify(null, input, key, sig);
    default:
      throw new Error(`unexpected alg ${alg}`);
  }
}

/** RFC 7638 JWK thumbprint, computed here rather than with the server's library. */
function thumbprint(jwk: JsonWebKey): string {
  const required: Record<string, string[]> = {
    RSA: ['e', 'kty', 'n'],
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
  };
  const members = required[jwk.kty ?? ''];
  if (!members) throw new Error(`unexpected kty ${jwk.kty}`);
  const canonical = `{${members.map((m) => `"${m}":"${String(jwk[m])}"`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

function omit(object: Json, key: string): Json {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function me(target: NestFastifyApplication, token: string): Promise<LightMyRequestResponse> {
  return target.inject({ method: 'GET', url: ME, headers: bearer(token) });
}

async function jwksOf(target: NestFastifyApplication): Promise<PublicJwk[]> {
  const res = await target.inject({ method: 'GET', url: JWKS });
  expect(res.statusCode).toBe(200);
  return res.json<{ keys: PublicJwk[] }>().keys;
}

function expectInvalidToken(res: LightMyRequestResponse): Json {
  const body = expectProblem(res, 401, 'invalid-token');
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  return body;
}

function expectMissingToken(res: LightMyRequestResponse): void {
  expectProblem(res, 401, 'missing-token');
  expect(res.headers['www-authenticate']).toBe('Bearer');
}

function expectSessionRevoked(res: LightMyRequestResponse): void {
  expectProblem(res, 401, 'session-revoked');
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
}

/** Builds the API, expects start-up to fail, and releases what the half-started app opened. */
async function expectStartupFailure(overrides: Record<string, string>, message: RegExp): Promise<void> {
  const app = await createApiApp(testConfig(overrides));
  try {
    await expect(app.init()).rejects.toThrow(message);
  } finally {
    await app.close().catch(() => undefined);
  }
}

describe('Access tokens (JWT), JWKS and the global JWT guard', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'atrium-tokens-'));
  let app: NestFastifyApplication;
  let owner: TestAccount;
  let realKey: KeyObject;
  let realKid: string;
  let otherRsaKey: KeyObject;

  /** The owner's real claims with a fresh jti/iat/exp: valid as they are, so each test changes one thing. */
  const claims = (overrides: Json = {}): Json => {
    const iat = nowSeconds();
    return { ...decodeToken(owner.accessToken).payload, jti: randomUUID(), iat, exp: iat + 900, ...overrides };
  };
  const header = (overrides: Json = {}): Json => ({ alg: 'RS256', typ: 'at+jwt', kid: realKid, ...overrides });
  /** Signed with the real signing key: only what the test changes makes it wrong. */
  const realSigned = (h: Json, p: Json): string => forge(h, p, signWith.RS256(realKey));

  beforeAll(async () => {
    [app, otherRsaKey] = await Promise.all([createTestApp(), newPrivateKey({ type: 'rsa', bits: 2048 })]);
    owner = await registerOwner(app, 'tokens');
    realKey = createPrivateKey(readFileSync(envFile('JWT_PRIVATE_KEY_FILE'), 'utf8'));
    realKid = thumbprint(createPublicKey(realKey).export({ format: 'jwk' }));
  });

  afterAll(async () => {
    await app.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('a valid access token', () => {
    it('should be accepted by GET /auth/me, which answers with the caller from @CurrentUser()', async () => {
      const res = await me(app, owner.accessToken);
      expect(res.statusCode).toBe(200);
      const { payload } = decodeToken(owner.accessToken);
      expect(res.json()).toMatchObject({
        id: payload.sub,
        organizationId: payload.org,
        sessionId: payload.sid,
        email: owner.email,
      });
    });

    it('should have alg RS256, typ at+jwt and the kid of a published key, and nothing else in its header', async () => {
      const { header: h } = decodeToken(owner.accessToken);
      expect(h).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: expect.any(String) });
      const keys = await jwksOf(app);
      const key = keys.find((k) => k.kid === h.kid);
      expect(key).toBeDefined();
      expect(h.kid).toBe(realKid);
      expect(verifiesWith(owner.accessToken, key as JsonWebKey, 'RS256')).toBe(true);
    });

    it('should carry exactly iss, aud, sub, org, sid, jti, iat and exp, valid for 15 minutes', () => {
      const { payload } = decodeToken(owner.accessToken);
      expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'org', 'sid', 'sub']);
      expect(payload).toMatchObject({
        iss: 'atrium',
        aud: 'atrium-api',
        sub: owner.userId,
        org: owner.organizationId,
        sid: owner.sessionId,
        jti: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      });
      expect((payload.exp as number) - (payload.iat as number)).toBe(900);
      expect(Math.abs((payload.iat as number) - nowSeconds())).toBeLessThan(60);
    });

    it('should get a fresh jti on every issue', async () => {
      const login = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: owner.email, password: TEST_PASSWORD },
      });
      expect(login.statusCode).toBe(200);
      const second = decodeToken(login.json<{ accessToken: string }>().accessToken).payload;
      expect(second.jti).not.toBe(decodeToken(owner.accessToken).payload.jti);
      expect(second.sid).not.toBe(owner.sessionId);
    });

    it('should follow JWT_ACCESS_TTL_SECONDS', async () => {
      const shortLived = await createTestApp({ JWT_ACCESS_TTL_SECONDS: '120' });
      try {
        const account = await registerOwner(shortLived, 'ttl');
        const { payload } = decodeToken(account.accessToken);
        expect((payload.exp as number) - (payload.iat as number)).toBe(120);
      } finally {
        await shortLived.close();
      }
    });

    it('should be accepted when forged by the test with the real key and unchanged claims (control)', async () => {
      expect((await me(app, realSigned(header(), claims()))).statusCode).toBe(200);
    });

    it('should be accepted with the auth scheme in any case (RFC 7235)', async () => {
      const res = await app.inject({
        method: 'GET',
        url: ME,
        headers: { authorization: `bearer ${owner.accessToken}` },
      });
      expect(res.statusCode).toBe(200);
    });
  });

  describe('GET /.well-known/jwks.json', () => {
    it('should publish the public signing key without a token: RSA 3072, RS256, sig, RFC 7638 kid', async () => {
      const res = await app.inject({ method: 'GET', url: JWKS });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toMatch(/public/);
      const { keys } = res.json<{ keys: PublicJwk[] }>();
      expect(keys).toHaveLength(1);
      const [key] = keys;
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB', kid: realKid });
      expect(key.kid).toBe(thumbprint(key));
      const modulus = Buffer.from(key.n ?? '', 'base64url');
      expect(modulus[0]).not.toBe(0);
      expect(modulus.length * 8).toBe(3072);
    });

    it('should contain no private key material', async () => {
      for (const key of await jwksOf(app)) {
        for (const member of PRIVATE_JWK_MEMBERS) expect(key).not.toHaveProperty(member);
      }
    });
  });

  describe('a missing token', () => {
    it('should answer 401 missing-token with a plain Bearer challenge', async () => {
      expectMissingToken(await app.inject({ method: 'GET', url: ME }));
    });

    it('should treat other auth schemes as no token', async () => {
      expectMissingToken(
        await app.inject({ method: 'GET', url: ME, headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
      );
    });
  });

  describe('a rejected token (401 invalid-token)', () => {
    const publicPem = (): string => spki(realKey);
    const cases: [string, () => string][] = [
      // Another algorithm.
      ['alg none, unsigned', () => forge(header({ alg: 'none' }), claims(), null)],
      ['alg none without kid', () => forge({ alg: 'none', typ: 'at+jwt' }, claims(), null)],
      ['alg NONE, unsigned', () => forge(header({ alg: 'NONE' }), claims(), null)],
      [
        'alg none with a real RS256 signature left on',
        () => `${forge(header({ alg: 'none' }), claims(), null)}${owner.accessToken.split('.')[2]}`,
      ],
      [
        'HS256 keyed with the public key PEM (SPKI)',
        () => forge(header({ alg: 'HS256' }), claims(), signWith.HS256(publicPem())),
      ],
      [
        'HS256 keyed with the public key PEM (PKCS#1)',
        () =>
          forge(
            header({ alg: 'HS256' }),
            claims(),
            signWith.HS256(createPublicKey(realKey).export({ format: 'pem', type: 'pkcs1' }).toString()),
          ),
      ],
      [
        'HS256 keyed with the public key DER',
        () =>
          forge(
            header({ alg: 'HS256' }),
            claims(),
            signWith.HS256(createPublicKey(realKey).export({ format: 'der', type: 'spki' })),
          ),
      ],
      [
        'HS256 keyed with the published JWK',
        () =>
          forge(
            header({ alg: 'HS256' }),
            claims(),
            signWith.HS256(JSON.stringify(createPublicKey(realKey).export({ format: 'jwk' }))),
          ),
      ],
      ['PS256 with the real key and kid', () => forge(header({ alg: 'PS256' }), claims(), signWith.PS256(realKey))],
      ['RS512 with the real key and kid', () => forge(header({ alg: 'RS512' }), claims(), signWith.RS512(realKey))],
      // Another key.
      ['signed by another RSA key under the real kid', () => forge(header(), claims(), signWith.RS256(otherRsaKey))],
      ['signed by the real key under an unknown kid', () => realSigned(header({ kid: 'not-a-known-key' }), claims())],
      ['signed by the real key without a kid', () => realSigned(omit(header(), 'kid'), claims())],
      ['with a kid that is not a string', () => realSigned(header({ kid: 1 }), claims())],
      // Wrong claims.
      ['wrong aud', () => realSigned(header(), claims({ aud: 'another-api' }))],
      ['aud list without ours', () => realSigned(header(), claims({ aud: ['another-api', 'atrium-api-2'] }))],
      ['no aud', () => realSigned(header(), omit(claims(), 'aud'))],
      ['wrong iss', () => realSigned(header(), claims({ iss: 'https://evil.example' }))],
      ['no iss', () => realSigned(header(), omit(claims(), 'iss'))],
      ['expired a minute ago', () => realSigned(header(), claims({ iat: nowSeconds() - 960, exp: nowSeconds() - 60 }))],
      ['expired 10 s ago (beyond the clock tolerance)', () => realSigned(header(), claims({ exp: nowSeconds() - 10 }))],
      ['not valid before an hour from now (nbf)', () => realSigned(header(), claims({ nbf: nowSeconds() + 3600 }))],
      ['exp that is not a number', () => realSigned(header(), claims({ exp: String(nowSeconds() + 900) }))],
      ['org that is not a string', () => realSigned(header(), claims({ org: 42 }))],
      ['sid that is not a string', () => realSigned(header(), claims({ sid: { id: owner.sessionId } }))],
      ...['sub', 'org', 'sid', 'jti', 'iat', 'exp'].map((claim): [string, () => string] => [
        `no ${claim} claim`,
        () => realSigned(header(), omit(claims(), claim)),
      ]),
      // Wrong type.
      ['typ JWT', () => realSigned(header({ typ: 'JWT' }), claims())],
      ['no typ', () => realSigned(omit(header(), 'typ'), claims())],
      [
        'typ of an ID token style JWT (application/jwt)',
        () => realSigned(header({ typ: 'application/jwt' }), claims()),
      ],
      // Key-selecting headers, even though everything else is right.
      ['a jku header', () => realSigned(header({ jku: 'https://evil.example/jwks.json' }), claims())],
      ['an x5u header', () => realSigned(header({ x5u: 'https://evil.example/cert.pem' }), claims())],
      ['an x5c header', () => realSigned(header({ x5c: ['MIIB'] }), claims())],
      [
        'a jwk header with the real public key',
        () => realSigned(header({ jwk: createPublicKey(realKey).export({ format: 'jwk' }) }), claims()),
      ],
      [
        'a jwk header with an attacker key, signed by it',
        () => {
          const jwk = createPublicKey(otherRsaKey).export({ format: 'jwk' });
          return forge(header({ kid: thumbprint(jwk), jwk }), claims(), signWith.RS256(otherRsaKey));
        },
      ],
      ['a crit header', () => realSigned(header({ crit: ['exp'] }), claims())],
      // Malformed.
      ['garbage', () => 'garbage'],
      ['three empty segments', () => '..'],
      ['three junk segments', () => 'a.b.c'],
      ['a truncated token', () => owner.accessToken.slice(0, -12)],
      ['a token without its signature', () => owner.accessToken.split('.').slice(0, 2).join('.')],
      ['a token with an empty signature', () => `${owner.accessToken.split('.').slice(0, 2).join('.')}.`],
      ['a token with a fifth segment', () => `${owner.accessToken}.e30.e30`],
      [
        'a payload edited after signing',
        () => {
          const [h, , s] = owner.accessToken.split('.');
          return `${h}.${b64url(claims({ sub: randomUUID() }))}.${s}`;
        },
      ],
      ['a non-JSON header', () => `${Buffer.from('not json').toString('base64url')}.e30.c2ln`],
      // Not an access token at all.
      ['a refresh token', () => owner.refreshToken],
    ];

    it.each(cases)('should reject %s', async (_name, make) => {
      expectInvalidToken(await me(app, make()));
    });

    it('should answer every rejection alike (no hint about what was wrong)', async () => {
      const bodies = await Promise.all(
        [
          'garbage',
          forge(header({ alg: 'none' }), claims(), null),
          realSigned(header({ kid: 'unknown' }), claims()),
          realSigned(header(), claims({ aud: 'x' })),
          realSigned(header(), claims({ exp: nowSeconds() - 60 })),
          forge(header(), claims(), signWith.RS256(otherRsaKey)),
        ].map(async (token) => {
          const body = expectInvalidToken(await me(app, token));
          return { title: body.title, detail: body.detail, type: body.type };
        }),
      );
      expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    });
  });

  describe('session revocation', () => {
    let second: NestFastifyApplication;

    beforeAll(async () => {
      // Same database and Redis prefix: another API instance of the same deployment.
      second = await createTestApp();
    });

    afterAll(async () => {
      await second.close();
    });

    const login = async (account: TestAccount): Promise<{ accessToken: string; refreshToken: string; sid: string }> => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: account.email, password: account.password },
      });
      expect(res.statusCode).toBe(200);
      const pair = res.json<{ accessToken: string; refreshToken: string }>();
      return { ...pair, sid: decodeToken(pair.accessToken).payload.sid as string };
    };

    it('should stop a revoked session’s unexpired access token at once, on every instance', async () => {
      const account = await registerOwner(app, 'revoke');
      const device = await login(account);
      // Both instances accept the token (and have its session state cached) before the revocation.
      expect((await me(app, device.accessToken)).statusCode).toBe(200);
      expect((await me(second, device.accessToken)).statusCode).toBe(200);

      const revoke = await app.inject({
        method: 'DELETE',
        url: `/api/v1/auth/sessions/${device.sid}`,
        headers: bearer(account.accessToken),
      });
      expect(revoke.statusCode).toBe(204);

      expectSessionRevoked(await me(second, device.accessToken));
      expectSessionRevoked(await me(app, device.accessToken));
      // The revoking session is untouched.
      expect((await me(second, account.accessToken)).statusCode).toBe(200);
    });

    it('should stop the access token of a logged-out session at once, on every instance', async () => {
      const account = await registerOwner(app, 'logout');
      expect((await me(second, account.accessToken)).statusCode).toBe(200);
      const logout = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: bearer(account.accessToken),
        payload: { refreshToken: account.refreshToken },
      });
      expect(logout.statusCode).toBe(204);
      expectSessionRevoked(await me(second, account.accessToken));
      expectSessionRevoked(await me(app, account.accessToken));
    });

    it('should still refuse the token when the cached state is gone (PostgreSQL is the durable copy)', async () => {
      const account = await registerOwner(app, 'durable');
      const device = await login(account);
      const revoke = await second.inject({
        method: 'DELETE',
        url: `/api/v1/auth/sessions/${device.sid}`,
        headers: bearer(account.accessToken),
      });
      expect(revoke.statusCode).toBe(204);
      const redis = app.get<Redis>(REDIS);
      const prefix = testConfig().redis.keyPrefix;
      expect(await redis.get(`${prefix}session:${device.sid}`)).toBe('revoked');
      await redis.del(`${prefix}session:${device.sid}`);
      expectSessionRevoked(await me(app, device.accessToken));
      expectSessionRevoked(await me(second, device.accessToken));
    });

    it('should refuse a validly signed token of a session that never existed', async () => {
      expectSessionRevoked(await me(app, realSigned(header(), claims({ sid: randomUUID() }))));
    });
  });

  describe('the pinned algorithm (JWT_ALGORITHM)', () => {
    describe.each([
      ['PS256', { type: 'rsa', bits: 3072 }, { kty: 'RSA', e: 'AQAB' }],
      ['ES256', { type: 'ec', curve: 'prime256v1' }, { kty: 'EC', crv: 'P-256' }],
      ['EdDSA', { type: 'ed25519' }, { kty: 'OKP', crv: 'Ed25519' }],
    ] as [string, KeySpec, Json][])('%s', (alg, spec, jwkShape) => {
      let algApp: NestFastifyApplication;
      let key: KeyObject;
      let account: TestAccount;

      beforeAll(async () => {
        key = await newPrivateKey(spec);
        const file = writeKey(join(tmp, alg), 'signing.pem', pkcs8(key));
        algApp = await createTestApp({ JWT_ALGORITHM: alg, JWT_PRIVATE_KEY_FILE: file });
        account = await registerOwner(algApp, alg.toLowerCase());
      });

      afterAll(async () => {
        await algApp.close();
      });

      it(`should publish its key for ${alg} and issue ${alg} tokens that work`, async () => {
        const keys = await jwksOf(algApp);
        expect(keys).toHaveLength(1);
        expect(keys[0]).toMatchObject({ ...jwkShape, alg, use: 'sig', kid: thumbprint(keys[0]) });
        for (const member of PRIVATE_JWK_MEMBERS) expect(keys[0]).not.toHaveProperty(member);

        const { header: h } = decodeToken(account.accessToken);
        expect(h).toEqual({ alg, typ: 'at+jwt', kid: keys[0].kid });
        expect(verifiesWith(account.accessToken, keys[0], alg)).toBe(true);
        const res = await me(algApp, account.accessToken);
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ id: account.userId, sessionId: account.sessionId });
      });

      it('should refuse an RS256 token of the default app (and the default app refuses its tokens)', async () => {
        expectInvalidToken(await me(algApp, owner.accessToken));
        expectInvalidToken(await me(app, account.accessToken));
      });

      it('should refuse its own claims signed with HS256 keyed with its public key', async () => {
        const { header: h, payload } = decodeToken(account.accessToken);
        const forged = forge({ ...h, alg: 'HS256' }, { ...payload, jti: randomUUID() }, signWith.HS256(spki(key)));
        expectInvalidToken(await me(algApp, forged));
      });

      it('should refuse alg none with its kid', async () => {
        const { header: h, payload } = decodeToken(account.accessToken);
        expectInvalidToken(await me(algApp, forge({ ...h, alg: 'none' }, payload, null)));
      });
    });

    it('should refuse RS256 tokens when pinned to PS256, even from the very same RSA key and kid', async () => {
      const pss = await createTestApp({ JWT_ALGORITHM: 'PS256' });
      try {
        expect((await jwksOf(pss))[0]).toMatchObject({ kid: realKid, alg: 'PS256' });
        expectInvalidToken(await me(pss, owner.accessToken));
        expectInvalidToken(await me(pss, realSigned(header(), claims())));
        // The same claims under PS256 are fine there, and refused by the RS256 app.
        const pssToken = forge(header({ alg: 'PS256' }), claims(), signWith.PS256(realKey));
        expect((await me(pss, pssToken)).statusCode).toBe(200);
        expectInvalidToken(await me(app, pssToken));
      } finally {
        await pss.close();
      }
    });

    describe('a key that does not fit the algorithm', () => {
      const keys: Record<string, KeySpec> = {
        'RSA 2048': { type: 'rsa', bits: 2048 },
        'RSA 1024': { type: 'rsa', bits: 1024 },
        'EC P-256': { type: 'ec', curve: 'prime256v1' },
        'EC P-384': { type: 'ec', curve: 'secp384r1' },
        Ed25519: { type: 'ed25519' },
        Ed448: { type: 'ed448' },
      };
      const files: Record<string, string> = {};

      beforeAll(async () => {
        for (const [name, spec] of Object.entries(keys)) {
          files[name] = writeKey(
            join(tmp, 'misfits'),
            `${name.replace(/\W/g, '')}.pem`,
            pkcs8(await newPrivateKey(spec)),
          );
        }
      });

      it.each([
        ['RS256', 'EC P-256'],
        ['RS256', 'Ed25519'],
        ['RS256', 'RSA 1024'],
        ['PS256', 'Ed25519'],
        ['ES256', 'RSA 2048'],
        ['ES256', 'EC P-384'],
        ['ES256', 'Ed25519'],
        ['EdDSA', 'EC P-256'],
        ['EdDSA', 'Ed448'],
        ['EdDSA', 'RSA 2048'],
      ])('should make start-up fail with JWT_ALGORITHM=%s and a %s key', async (alg, keyName) => {
        await expectStartupFailure(
          { JWT_ALGORITHM: alg, JWT_PRIVATE_KEY_FILE: files[keyName] },
          new RegExp(`signing key does not fit JWT_ALGORITHM=${alg}`),
        );
      });

      it('should make start-up fail when a rotation public key does not fit, naming the file', async () => {
        const dir = join(tmp, 'misfit-public');
        const file = writeKey(dir, 'old-ec.pem', spki(createPrivateKey(readFileSync(files['EC P-256'], 'utf8'))));
        await expectStartupFailure(
          { JWT_PUBLIC_KEYS_DIR: dir },
          new RegExp(`${file} does not fit JWT_ALGORITHM=RS256`),
        );
      });
    });
  });

  describe('key rotation (JWT_PUBLIC_KEYS_DIR)', () => {
    let rotated: NestFastifyApplication;
    let newKid: string;

    beforeAll(async () => {
      const newKey = await newPrivateKey({ type: 'rsa', bits: 3072 });
      newKid = thumbprint(createPublicKey(newKey).export({ format: 'jwk' }));
      const newFile = writeKey(join(tmp, 'rotation'), 'new.pem', pkcs8(newKey));
      const publicDir = join(tmp, 'rotation', 'public');
      writeKey(publicDir, 'old.pem', spki(realKey));
      writeKey(publicDir, 'README.txt', 'not a key: ignored');
      rotated = await createTestApp({ JWT_PRIVATE_KEY_FILE: newFile, JWT_PUBLIC_KEYS_DIR: publicDir });
    });

    afterAll(async () => {
      await rotated.close();
    });

    it('should publish both keys, the new signing key first', async () => {
      const keys = await jwksOf(rotated);
      expect(keys.map((k) => k.kid)).toEqual([newKid, realKid]);
      for (const key of keys) {
        expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: thumbprint(key) });
        for (const member of PRIVATE_JWK_MEMBERS) expect(key).not.toHaveProperty(member);
      }
    });

    it('should still accept tokens signed by the old key', async () => {
      expect((await me(rotated, owner.accessToken)).statusCode).toBe(200);
    });

    it('should sign new tokens with the new key', async () => {
      const account = await registerOwner(rotated, 'rotated');
      const { header: h } = decodeToken(account.accessToken);
      expect(h.kid).toBe(newKid);
      expect((await me(rotated, account.accessToken)).statusCode).toBe(200);
      const [newJwk] = await jwksOf(rotated);
      expect(verifiesWith(account.accessToken, newJwk, 'RS256')).toBe(true);
      // An instance that does not know the new key yet refuses them.
      expectInvalidToken(await me(app, account.accessToken));
    });

    it('should refuse the old key’s tokens once it is retired', async () => {
      const retired = await createTestApp({
        JWT_PRIVATE_KEY_FILE: join(tmp, 'rotation', 'new.pem'),
        JWT_PUBLIC_KEYS_DIR: '',
      });
      try {
        expect((await jwksOf(retired)).map((k) => k.kid)).toEqual([newKid]);
        expectInvalidToken(await me(retired, owner.accessToken));
      } finally {
        await retired.close();
      }
    });
  });

  describe('development key generation', () => {
    const devEnv = (dir: string, extra: Record<string, string> = {}): Record<string, string> => ({
      JWT_PRIVATE_KEY_FILE: '',
      JWT_PRIVATE_KEY: '',
      JWT_DEV_KEY_DIR: dir,
      ...extra,
    });

    afterEach(() => {
      jest.restoreAllMocks();
    });

    it('should generate a 0600 key with a warning when none is configured, and reuse it on the next start', async () => {
      const dir = join(tmp, 'dev', 'keys');
      const warn = jest.spyOn(Logger.prototype, 'warn');
      const first = await createTestApp(devEnv(dir));
      let firstKeys: PublicJwk[];
      try {
        firstKeys = await jwksOf(first);
      } finally {
        await first.close();
      }
      const file = join(dir, 'jwt-RS256.pem');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/generated a development RS256 key/));
      const generated = createPrivateKey(readFileSync(file, 'utf8'));
      expect(generated.asymmetricKeyDetails?.modulusLength).toBe(3072);
      expect(firstKeys).toHaveLength(1);
      expect(firstKeys[0].kid).toBe(thumbprint(createPublicKey(generated).export({ format: 'jwk' })));

      warn.mockClear();
      const secondStart = await createTestApp(devEnv(dir));
      try {
        expect(warn).toHaveBeenCalledWith(expect.stringMatching(/using the development RS256 key/));
        expect((await jwksOf(secondStart)).map((k) => k.kid)).toEqual([firstKeys[0].kid]);
        const account = await registerOwner(secondStart, 'devkey');
        expect(decodeToken(account.accessToken).header.kid).toBe(firstKeys[0].kid);
      } finally {
        await secondStart.close();
      }
    });

    it('should generate a key of the configured algorithm', async () => {
      const dir = join(tmp, 'dev-es256');
      const devApp = await createTestApp(devEnv(dir, { JWT_ALGORITHM: 'ES256' }));
      try {
        expect((await jwksOf(devApp))[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
        expect(statSync(join(dir, 'jwt-ES256.pem')).mode & 0o777).toBe(0o600);
        const account = await registerOwner(devApp, 'deves');
        expect((await me(devApp, account.accessToken)).statusCode).toBe(200);
      } finally {
        await devApp.close();
      }
    });

    it('should be refused in production: a configured key is required', () => {
      expect(() => testConfig({ NODE_ENV: 'production', JWT_PRIVATE_KEY_FILE: '', JWT_PRIVATE_KEY: '' })).toThrow(
        /JWT_PRIVATE_KEY_FILE \(or JWT_PRIVATE_KEY\) is required in production/,
      );
    });
  });

  describe('protected by default', () => {
    // The only routes anyone may call without a token. A new public route must be added here on purpose.
    const PUBLIC_ROUTES = [
      'POST /api/v1/auth/register',
      'POST /api/v1/auth/login',
      'POST /api/v1/auth/login/2fa',
      'POST /api/v1/auth/refresh',
      'POST /api/v1/auth/otp/request',
      'POST /api/v1/auth/otp/verify',
      'POST /api/v1/auth/password/reset',
      `GET ${JWKS}`,
      'GET /health/live',
      'GET /health/ready',
      'GET /metrics',
      'GET /api/v1/public/{orgSlug}/posts',
      'GET /api/v1/public/{orgSlug}/posts/{slug}',
      'GET /api/v1/storage/local/{path}',
      'POST /api/v1/storage/local/{path}',
    ];
    const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'];
    let operations: { route: string; method: string; url: string; security?: unknown }[];

    beforeAll(async () => {
      const res = await app.inject({ method: 'GET', url: '/docs-json' });
      expect(res.statusCode).toBe(200);
      const paths = res.json<{ paths: Record<string, Record<string, { security?: unknown }>> }>().paths;
      operations = Object.entries(paths).flatMap(([path, item]) =>
        Object.entries(item)
          .filter(([method]) => METHODS.includes(method))
          .map(([method, operation]) => ({
            route: `${method.toUpperCase()} ${path}`,
            method: method.toUpperCase(),
            url: path.replace(/\{[^}]+\}/g, () => randomUUID()),
            security: operation.security,
          })),
      );
    });

    it('should document every allow-listed public route, and serve each without a token', async () => {
      const documented = operations.map((o) => o.route);
      expect(documented).toEqual(expect.arrayContaining(PUBLIC_ROUTES));
      for (const route of PUBLIC_ROUTES) {
        const [method, path] = route.split(' ');
        const url = path.replace(/\{[^}]+\}/g, 'unknown');
        const res = await app.inject({ method: method as 'GET' | 'POST', url });
        expect({ route, refused: [401, 403].includes(res.statusCode) }).toEqual({ route, refused: false });
      }
    });

    it('should answer 401 for every other route without a token or with a bad one', async () => {
      const protectedOps = operations.filter((o) => !PUBLIC_ROUTES.includes(o.route));
      expect(protectedOps.length).toBeGreaterThan(10);
      for (const op of protectedOps) {
        const method = op.method as 'GET';
        const anonymous = await app.inject({ method, url: op.url });
        expect({ route: op.route, status: anonymous.statusCode, type: anonymous.json<Json>().type }).toEqual({
          route: op.route,
          status: 401,
          type: 'urn:atrium:problem:missing-token',
        });
        const forged = await app.inject({
          method,
          url: op.url,
          headers: bearer(forge(header({ alg: 'none' }), claims(), null)),
        });
        expect({ route: op.route, status: forged.statusCode, type: forged.json<Json>().type }).toEqual({
          route: op.route,
          status: 401,
          type: 'urn:atrium:problem:invalid-token',
        });
      }
    });

    it('should document the bearer requirement on every protected route', () => {
      const undocumented = operations
        .filter((o) => !PUBLIC_ROUTES.includes(o.route))
        .filter((o) => !JSON.stringify(o.security ?? []).includes('"bearer"'))
        .map((o) => o.route);
      expect(undocumented).toEqual([]);
    });
  });
});
