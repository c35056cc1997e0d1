import { jwtVerify, SignJWT } from 'jose';
import { createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { AppConfig } from '../../../config/app.config';
import { AuthException, AuthExceptionCode } from '../auth.exception';
import { AccessTokens } from './access-token.service';
import { JwtKeys } from './jwt-keys.service';

type Json = Record<string, unknown>;

const PKCS8 = { format: 'pem', type: 'pkcs8' } as const;
const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function forge(header: Json, payload: Json, signer: ((input: Buffer) => Buffer) | null): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${signer ? signer(Buffer.from(input)).toString('base64url') : ''}`;
}

async function expectInvalid(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(AuthException);
  await expect(promise).rejects.toMatchObject({ code: AuthExceptionCode.InvalidToken });
}

/** The node:crypto verifier against hand-made tokens: each case changes one thing of a valid token. */
describe(`${AccessTokens.name} (node:crypto verifier)`, () => {
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export(PKCS8).toString();
  const config = AppConfig.fromEnv({ NODE_ENV: 'test', JWT_PRIVATE_KEY: pem });
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  let keys: JwtKeys;
  let tokens: AccessTokens;
  let realKey: KeyObject;
  let kid: string;

  const rs256 = (key: KeyObject) => (input: Buffer) => sign('sha256', input, key);
  const now = () => Math.floor(Date.now() / 1000);
  const header = (overrides: Json = {}): Json => ({ alg: 'RS256', typ: 'at+jwt', kid, ...overrides });
  const claims = (overrides: Json = {}): Json => ({
    org: randomUUID(),
    sid: randomUUID(),
    iss: config.jwt.issuer,
    aud: config.jwt.audience,
    sub: randomUUID(),
    jti: randomUUID(),
    iat: now(),
    exp: now() + 900,
    ...overrides,
  });
  const omit = (object: Json, key: string): Json =>
    Object.fromEntries(Object.entries(object).filter(([k]) => k !== key));
  const real = (h: Json, c: Json) => forge(h, c, rs256(realKey));

  beforeAll(async () => {
    keys = new JwtKeys(config);
    await keys.onModuleInit();
    tokens = new AccessTokens(keys, config);
    realKey = keys.signingKey.privateKey;
    kid = keys.signingKey.kid;
  });

  it('should accept the control (a token forged with the real key and valid claims)', async () => {
    const payload = claims();
    await expect(tokens.verify(real(header(), payload))).resolves.toEqual({
      sub: payload.sub,
      org: payload.org,
      sid: payload.sid,
      jti: payload.jti,
      iat: payload.iat,
      exp: payload.exp,
    });
  });

  it('should accept an aud list that contains ours and typ spelled as a media type', async () => {
    await expect(
      tokens.verify(real(header({ typ: 'application/AT+JWT' }), claims({ aud: ['other', config.jwt.audience] }))),
    ).resolves.toHaveProperty('sub');
  });

  const cases: [string, () => string][] = [
    ['alg none', () => forge(header({ alg: 'none' }), claims(), null)],
    [
      'alg none with the real signature',
      () => `${forge(header({ alg: 'none' }), claims(), null)}${real(header(), claims()).split('.')[2]}`,
    ],
    [
      'HS256 keyed with the public key PEM (algorithm confusion)',
      () =>
        forge(header({ alg: 'HS256' }), claims(), (input) =>
          createHmac('sha256', createPublicKey(realKey).export({ format: 'pem', type: 'spki' }))
            .update(input)
            .digest(),
        ),
    ],
    ['rs256 (alg compared exactly)', () => real(header({ alg: 'rs256' }), claims())],
    ['RS512', () => forge(header({ alg: 'RS512' }), claims(), (input) => sign('sha512', input, realKey))],
    ['another key under the real kid', () => forge(header(), claims(), rs256(otherKey))],
    ['an unknown kid', () => real(header({ kid: 'not-a-key' }), claims())],
    ['a kid that is not a string', () => real(header({ kid: 1 }), claims())],
    ['no kid', () => real(omit(header(), 'kid'), claims())],
    ['a kid path', () => real(header({ kid: '../../../../etc/passwd' }), claims())],
    ['a jku header', () => real(header({ jku: 'http://127.0.0.1:1/jwks.json' }), claims())],
    ['a jwk header', () => real(header({ jwk: createPublicKey(realKey).export({ format: 'jwk' }) }), claims())],
    ['an x5u header', () => real(header({ x5u: 'http://127.0.0.1:1/cert.pem' }), claims())],
    ['an x5c header', () => real(header({ x5c: ['MIIB'] }), claims())],
    ['a crit header', () => real(header({ crit: ['exp'] }), claims())],
    ['a b64 header', () => real(header({ b64: false }), claims())],
    ['typ JWT', () => real(header({ typ: 'JWT' }), claims())],
    ['typ application/jwt', () => real(header({ typ: 'application/jwt' }), claims())],
    ['typ refresh+jwt', () => real(header({ typ: 'refresh+jwt' }), claims())],
    ['no typ', () => real(omit(header(), 'typ'), claims())],
    ['wrong iss', () => real(header(), claims({ iss: 'https://evil.example' }))],
    ['no iss', () => real(header(), omit(claims(), 'iss'))],
    ['wrong aud', () => real(header(), claims({ aud: 'another-api' }))],
    ['aud list without ours', () => real(header(), claims({ aud: ['another-api'] }))],
    ['no aud', () => real(header(), omit(claims(), 'aud'))],
    ['expired 10 s ago (beyond the 5 s tolerance)', () => real(header(), claims({ exp: now() - 10 }))],
    ['nbf an hour ahead', () => real(header(), claims({ nbf: now() + 3600 }))],
    ['nbf that is not a number', () => real(header(), claims({ nbf: 'soon' }))],
    ['exp that is not a number', () => real(header(), claims({ exp: String(now() + 900) }))],
    ['iat that is not a number', () => real(header(), claims({ iat: 'now' }))],
    ['org that is not a string', () => real(header(), claims({ org: 42 }))],
    ['sid that is an object', () => real(header(), claims({ sid: { id: 'x' } }))],
    ...['sub', 'org', 'sid', 'jti', 'iat', 'exp'].map((claim): [string, () => string] => [
      `no ${claim}`,
      () => real(header(), omit(claims(), claim)),
    ]),
    ['a payload that is an array', () => forge(header(), [claims()] as unknown as Json, rs256(realKey))],
    ['garbage', () => 'garbage'],
    ['three empty segments', () => '..'],
    ['three junk segments', () => 'a.b.c'],
    ['a fourth segment', () => `${real(header(), claims())}.e30`],
    ['no signature', () => real(header(), claims()).split('.').slice(0, 2).join('.')],
    ['an empty signature', () => `${real(header(), claims()).split('.').slice(0, 2).join('.')}.`],
    ['padding in a segment', () => real(header(), claims()).replace('.', '=.')],
    ['a non-JSON header', () => `${Buffer.from('not json').toString('base64url')}.e30.c2ln`],
    ['an opaque refresh-token-like value', () => randomUUID() + randomUUID()],
    ['a token of 9 KB', () => real(header({ pad: 'x'.repeat(9000) }), claims())],
  ];

  it.each(cases)('should reject %s', async (_name, make) => {
    await expectInvalid(tokens.verify(make()));
  });

  it('should sign tokens jose verifies, and verify tokens jose signs', async () => {
    const subject = { userId: randomUUID(), organizationId: randomUUID(), sessionId: randomUUID() };
    const ours = await tokens.sign(subject);
    const { payload, protectedHeader } = await jwtVerify(ours, createPublicKey(realKey), {
      algorithms: ['RS256'],
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      typ: 'at+jwt',
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'at+jwt', kid });
    expect(payload).toMatchObject({ sub: subject.userId, org: subject.organizationId, sid: subject.sessionId });

    const theirs = await new SignJWT({ org: subject.organizationId, sid: subject.sessionId })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
      .setIssuer(config.jwt.issuer)
      .setAudience(config.jwt.audience)
      .setSubject(subject.userId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(realKey);
    await expect(tokens.verify(theirs)).resolves.toMatchObject({ sub: subject.userId });
  });

  describe('verified tokens remembered', () => {
    const start = new Date('2030-01-01T00:00:00.000Z');

    beforeEach(() => {
      jest.useFakeTimers({
        now: start,
        doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'setInterval', 'setTimeout'],
      });
    });

    afterEach(() => {
      jest.useRealTimers();
    });

    it('should stop accepting a remembered token once it expires (plus the tolerance)', async () => {
      const token = real(header(), claims({ exp: now() + 60 }));
      await expect(tokens.verify(token)).resolves.toMatchObject({ exp: now() + 60 });
      jest.setSystemTime(start.getTime() + 64_000);
      await expect(tokens.verify(token)).resolves.toMatchObject({ exp: Math.floor(start.getTime() / 1000) + 60 });
      jest.setSystemTime(start.getTime() + 66_000);
      await expectInvalid(tokens.verify(token));
    });

    it('should not let a remembered token vouch for a variant of it', async () => {
      const token = real(header(), claims());
      await tokens.verify(token);
      const [h, , s] = token.split('.');
      await expectInvalid(tokens.verify(`${h}.${b64url(claims())}.${s}`));
      await expectInvalid(tokens.verify(`${token} `));
    });

    it('should hand out claims that cannot be changed by the caller', async () => {
      const claimsSeen = await tokens.verify(real(header(), claims()));
      expect(Object.isFrozen(claimsSeen)).toBe(true);
    });
  });
});
