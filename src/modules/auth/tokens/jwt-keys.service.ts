import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../../../config/app.config';

type Algorithm = AppConfig['jwt']['algorithm'];

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

const KEY_TYPE: Record<Algorithm, { type: string; curve?: string }> = {
  RS256: { type: 'rsa' },
  PS256: { type: 'rsa' },
  ES256: { type: 'ec', curve: 'prime256v1' },
  EdDSA: { type: 'ed25519' },
};

function generatePrivateKeyPem(algorithm: Algorithm): string {
  const encoding = { format: 'pem', type: 'pkcs8' } as const;
  switch (algorithm) {
    case 'RS256':
    case 'PS256':
      return generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey.export(encoding).toString();
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export(encoding).toString();
    case 'EdDSA':
      return generateKeyPairSync('ed25519').privateKey.export(encoding).toString();
  }
}

/**
 * The access-token keys: one signing key (configured, or generated and kept on disk in development) and
 * every public key still accepted (the signing key's plus JWT_PUBLIC_KEYS_DIR, for rotation). Key ids are
 * RFC 7638 thumbprints, so the same key always has the same kid on every instance.
 */
@Injectable()
export class JwtKeys implements OnModuleInit {
  private readonly logger = new Logger(JwtKeys.name);
  private signing: SigningKey;
  private readonly verification = new Map<string, KeyObject>();
  private published: { keys: JWK[] } = { keys: [] };

  constructor(private readonly config: AppConfig) {}

  async onModuleInit(): Promise<void> {
    const algorithm = this.config.jwt.algorithm;
    const privateKey = createPrivateKey(this.loadPrivateKeyPem());
    this.assertFits(privateKey, 'the signing key');
    const publicKeys = [createPublicKey(privateKey), ...this.loadExtraPublicKeys()];
    const jwks: JWK[] = [];
    for (const publicKey of publicKeys) {
      const jwk = publicKey.export({ format: 'jwk' }) as JWK;
      const kid = await calculateJwkThumbprint(jwk);
      if (this.verification.has(kid)) continue;
      this.verification.set(kid, publicKey);
      jwks.push({ ...jwk, kid, alg: algorithm, use: 'sig' });
    }
    this.signing = { kid: jwks[0].kid ?? '', privateKey };
    this.published = { keys: jwks };
  }

  get signingKey(): SigningKey {
    return this.signing;
  }

  verificationKey(kid: string): KeyObject | undefined {
    return this.verification.get(kid);
  }

  /** The JWKS document published at /.well-known/jwks.json (public parts only). */
  get jwks(): { keys: JWK[] } {
    return this.published;
  }

  private loadPrivateKeyPem(): string {
    const { privateKey, privateKeyFile, devKeyDir, algorithm } = this.config.jwt;
    if (privateKey) return privateKey.replace(/\\n/g, '\n');
    if (privateKeyFile) return readFileSync(privateKeyFile, 'utf8');
    // Production refuses to start without a configured key (AppConfig); this is development only.
    const file = join(devKeyDir, `jwt-${algorithm}.pem`);
    if (existsSync(file)) {
      this.logger.warn(`no JWT_PRIVATE_KEY_FILE configured: using the development ${algorithm} key at ${file}`);
      return readFileSync(file, 'utf8');
    }
    this.logger.warn(`no JWT_PRIVATE_KEY_FILE configured: generated a development ${algorithm} key at ${file}`);
    mkdirSync(devKeyDir, { recursive: true });
    const pem = generatePrivateKeyPem(algorithm);
    try {
      writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process started at the same time and wrote its key first: sign with the one on disk too.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8');
      throw error;
    }
    chmodSync(file, 0o600);
    return pem;
  }

  private loadExtraPublicKeys(): KeyObject[] {
    const dir = this.config.jwt.publicKeysDir;
    if (!dir) return [];
    return readdirSync(dir)
      .filter((name) => name.endsWith('.pem'))
      .sort()
      .map((name) => {
        const key = createPublicKey(readFileSync(join(dir, name), 'utf8'));
        this.assertFits(key, `${join(dir, name)}`);
        return key;
      });
  }

  private assertFits(key: KeyObject, what: string): void {
    const expected = KEY_TYPE[this.config.jwt.algorithm];
    const details = key.asymmetricKeyDetails;
    const fits =
      key.asymmetricKeyType === expected.type &&
      (!expected.curve || details?.namedCurve === expected.curve) &&
      (expected.type !== 'rsa' || (details?.modulusLength ?? 0) >= 2048);
    if (!fits) throw new Error(`${what} does not fit JWT_ALGORITHM=${this.config.jwt.algorithm}`);
  }
}
