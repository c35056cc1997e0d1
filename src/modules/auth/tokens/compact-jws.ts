import { constants, sign, verify, type KeyObject } from 'node:crypto';
import type { AppConfig } from '../../../config/app.config';

export type JwsAlgorithm = AppConfig['jwt']['algorithm'];

/**
 * Compact JWS (RFC 7515) signing and verification with node:crypto, for the one algorithm configured.
 * Synchronous on purpose: WebCrypto (what jose uses) runs every signature check as a job on libuv's thread
 * pool, where it queues behind bcrypt during a login flood and costs a pool round trip per request. An
 * RS256/PS256 verification with e = 65537, or an ES256/EdDSA one, takes tens of microseconds on the event loop.
 * The key type always fits the algorithm: JwtKeys refuses to start with a key that does not.
 */
const SIGNERS: Record<
  JwsAlgorithm,
  { digest: string | null; options: (key: KeyObject) => Parameters<typeof verify>[2]; signatureBytes?: number }
> = {
  RS256: { digest: 'sha256', options: (key) => key },
  PS256: {
    digest: 'sha256',
    options: (key) => ({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }),
  },
  // JWS carries ECDSA signatures as r || s (IEEE P1363), not DER.
  ES256: { digest: 'sha256', options: (key) => ({ key, dsaEncoding: 'ieee-p1363' }), signatureBytes: 64 },
  EdDSA: { digest: null, options: (key) => key, signatureBytes: 64 },
};

const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** `header.payload` as sent: the bytes the signature covers. */
  signingInput: string;
  signature: Buffer;
}

function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  if (!BASE64URL.test(segment)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Splits and decodes a compact JWS without trusting anything in it; undefined when it is not one. */
export function decodeCompactJws(token: string): DecodedJws | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) return undefined;
  const signature = token.slice(second + 1);
  if (!BASE64URL.test(signature)) return undefined;
  const header = decodeJsonObject(token.slice(0, first));
  const payload = header && decodeJsonObject(token.slice(first + 1, second));
  if (!header || !payload) return undefined;
  return { header, payload, signingInput: token.slice(0, second), signature: Buffer.from(signature, 'base64url') };
}

/** Checks a signature with `key` under `algorithm` (never the algorithm the token names). */
export function verifySignature(algorithm: JwsAlgorithm, jws: DecodedJws, key: KeyObject): boolean {
  const signer = SIGNERS[algorithm];
  if (signer.signatureBytes !== undefined && jws.signature.length !== signer.signatureBytes) return false;
  try {
    return verify(signer.digest, Buffer.from(jws.signingInput), signer.options(key), jws.signature);
  } catch {
    return false;
  }
}

/** `base64url(header).base64url(payload).base64url(signature)`. */
export function signCompactJws(
  algorithm: JwsAlgorithm,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
): string {
  const signer = SIGNERS[algorithm];
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = sign(signer.digest, Buffer.from(input), signer.options(key) as Parameters<typeof sign>[2]);
  return `${input}.${signature.toString('base64url')}`;
}
