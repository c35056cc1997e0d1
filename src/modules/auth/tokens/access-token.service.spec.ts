import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../../../config/app.config';
import { AuthException, AuthExceptionCode } from '../auth.exception';
import { AccessTokens } from './access-token.service';
import { JwtKeys } from './jwt-keys.service';

type Algorithm = AppConfig['jwt']['algorithm'];

const PKCS8 = { format: 'pem', type: 'pkcs8' } as const;
const PEMS: Record<Algorithm, () => string> = {
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export(PKCS8).toString(),
  PS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export(PKCS8).toString(),
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export(PKCS8).toString(),
  EdDSA: () => generateKeyPairSync('ed25519').privateKey.export(PKCS8).toString(),
};

const subject = { userId: randomUUID(), organizationId: randomUUID(), sessionId: randomUUID() };

async function tokensFor(env: Record<string, string>): Promise<{ tokens: AccessTokens; keys: JwtKeys }> {
  const config = AppConfig.fromEnv({ NODE_ENV: 'test', ...env });
  const keys = new JwtKeys(config);
  await keys.onModuleInit();
  return { tokens: new AccessTokens(keys, config), keys };
}

async function expectInvalid(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(AuthException);
  await expect(promise).rejects.toMatchObject({ code: AuthExceptionCode.InvalidToken });
}

describe(AccessTokens.name, () => {
  describe.each(Object.keys(PEMS) as Algorithm[])('with JWT_ALGORITHM=%s', (algorithm) => {
    let tokens: AccessTokens;
    let keys: JwtKeys;

    beforeAll(async () => {
      ({ tokens, keys } = await tokensFor({ JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: PEMS[algorithm]() }));
    });

    it('should sign an at+jwt with the kid of the published key, and verify it back', async () => {
      const token = await tokens.sign(subject);
      expect(decodeProtectedHeader(token)).toEqual({ alg: algorithm, typ: 'at+jwt', kid: keys.jwks.keys[0].kid });
      const claims = await tokens.verify(token);
      expect(claims).toMatchObject({ sub: subject.userId, org: subject.organizationId, sid: subject.sessionId });
      expect(claims.exp - claims.iat).toBe(900);
    });

    it('should refuse a token of another key with the same algorithm', async () => {
      const other = await tokensFor({ JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: PEMS[algorithm]() });
      await expectInvalid(tokens.verify(await other.tokens.sign(subject)));
    });
  });

  describe('expiry', () => {
    const start = new Date('2030-01-01T00:00:00.999Z');
    let tokens: AccessTokens;

    beforeAll(async () => {
      ({ tokens } = await tokensFor({
        JWT_PRIVATE_KEY: PEMS.ES256(),
        JWT_ALGORITHM: 'ES256',
        JWT_ACCESS_TTL_SECONDS: '60',
      }));
    });

    beforeEach(() => {
      // Only the clock is fake: the crypto behind sign/verify must run normally.
      jest.useFakeTimers({
        now: start,
        doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'setInterval', 'setTimeout'],
      });
    });

    afterEach(() => {
      jest.useRealTimers();
    });

    it('should issue exp exactly TTL seconds after iat', async () => {
      const payload = decodeJwt(await tokens.sign(subject));
      expect(payload.iat).toBe(Math.floor(start.getTime() / 1000));
      expect(payload.exp).toBe(Math.floor(start.getTime() / 1000) + 60);
    });

    it('should accept a token until 5 s (the clock tolerance) after exp, and refuse it after', async () => {
      const token = await tokens.sign(subject);
      jest.setSystemTime(start.getTime() + 64_000);
      await expect(tokens.verify(token)).resolves.toMatchObject({ sid: subject.sessionId });
      jest.setSystemTime(start.getTime() + 66_000);
      await expectInvalid(tokens.verify(token));
    });
  });

  describe('rotation', () => {
    let dir: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'atrium-rotation-'));
    });

    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('should verify tokens of a key in JWT_PUBLIC_KEYS_DIR while signing with the new key', async () => {
      const oldPem = PEMS.RS256();
      const old = await tokensFor({ JWT_PRIVATE_KEY: oldPem });
      writeFileSync(join(dir, 'old.pem'), createPublicKey(oldPem).export({ format: 'pem', type: 'spki' }));
      const rotated = await tokensFor({ JWT_PRIVATE_KEY: PEMS.RS256(), JWT_PUBLIC_KEYS_DIR: dir });

      expect(rotated.keys.jwks.keys.map((k) => k.kid)).toEqual([rotated.keys.signingKey.kid, old.keys.signingKey.kid]);
      await expect(rotated.tokens.verify(await old.tokens.sign(subject))).resolves.toMatchObject({
        sub: subject.userId,
      });
      const fresh = await rotated.tokens.sign(subject);
      expect(decodeProtectedHeader(fresh).kid).toBe(rotated.keys.signingKey.kid);
      await expectInvalid(old.tokens.verify(fresh));
    });
  });

  describe(JwtKeys.name, () => {
    it.each([
      ['RS256', 'ES256'],
      ['ES256', 'EdDSA'],
      ['EdDSA', 'RS256'],
    ] as [Algorithm, Algorithm][])(
      'should refuse a %s configuration with a key made for %s',
      async (algorithm, keyFor) => {
        await expect(tokensFor({ JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: PEMS[keyFor]() })).rejects.toThrow(
          `the signing key does not fit JWT_ALGORITHM=${algorithm}`,
        );
      },
    );

    it('should publish public members only', async () => {
      const { keys } = await tokensFor({ JWT_PRIVATE_KEY: PEMS.RS256() });
      expect(Object.keys(keys.jwks.keys[0]).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    });
  });
});
