import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../../config/app.config';
import { AuthException, AuthExceptionCode } from '../auth.exception';
import { decodeCompactJws, signCompactJws, verifySignature, type DecodedJws } from './compact-jws';
import { JwtKeys } from './jwt-keys.service';
import { VerifiedTokenCache } from './verified-token.cache';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenClaims {
  sub: string;
  org: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
}

// Header parameters that point a verifier at keys chosen by the token itself, or that demand extensions
// (crit, b64) we do not implement: never honoured, so refused.
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit', 'b64'] as const;
const CLOCK_TOLERANCE_SECONDS = 5;
// Our tokens are well under 1 KB; anything far larger is refused before it is decoded.
const MAX_TOKEN_LENGTH = 8192;
// ~1 KB per entry (token text and claims): at most ~10 MB, far more distinct live tokens than one process sees.
const VERIFIED_CACHE_ENTRIES = 10_000;

function invalid(): AuthException {
  return new AuthException(AuthExceptionCode.InvalidToken, 'The access token is invalid or expired.');
}

/** `typ` compared as a media type (RFC 7515 §4.1.9): case-insensitive, `application/` prefix optional. */
function normalizedTyp(typ: unknown): string | undefined {
  if (typeof typ !== 'string') return undefined;
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/**
 * Signs and verifies access tokens (RFC 9068 `at+jwt`) with the one configured algorithm, with node:crypto
 * and the key objects JwtKeys made at start-up (see compact-jws.ts for why not WebCrypto). A token that
 * verified once is remembered until it expires (VerifiedTokenCache); revocation is the session store's job,
 * checked on every request by the JWT guard.
 */
@Injectable()
export class AccessTokens {
  private readonly verified = new VerifiedTokenCache<AccessTokenClaims>(
    VERIFIED_CACHE_ENTRIES,
    CLOCK_TOLERANCE_SECONDS,
  );

  constructor(
    private readonly keys: JwtKeys,
    private readonly config: AppConfig,
  ) {}

  get ttlSeconds(): number {
    return this.config.jwt.accessTtlSeconds;
  }

  /**
   * Signs on the event loop (a few milliseconds for RSA 3072, microseconds for ES256/EdDSA), once per login or
   * refresh, instead of queueing on the thread pool behind bcrypt. Kept a promise for its callers.
   */
  sign(subject: { userId: string; organizationId: string; sessionId: string }): Promise<string> {
    // A throw inside the executor becomes the rejection.
    return new Promise((resolve) => resolve(this.signNow(subject)));
  }

  private signNow(subject: { userId: string; organizationId: string; sessionId: string }): string {
    const { kid, privateKey } = this.keys.signingKey;
    // One clock reading for both: read twice, a second boundary between them would stretch exp - iat by 1 s.
    const now = Math.floor(Date.now() / 1000);
    const { algorithm, issuer, audience, accessTtlSeconds } = this.config.jwt;
    return signCompactJws(
      algorithm,
      { alg: algorithm, typ: ACCESS_TOKEN_TYPE, kid },
      {
        org: subject.organizationId,
        sid: subject.sessionId,
        iss: issuer,
        aud: audience,
        sub: subject.userId,
        jti: randomUUID(),
        iat: now,
        exp: now + accessTtlSeconds,
      },
      privateKey,
    );
  }

  /** Verifies signature (pinned algorithm, known kid), typ, iss, aud, expiry and required claims. */
  verify(token: string): Promise<AccessTokenClaims> {
    return new Promise((resolve) => resolve(this.verifyNow(token)));
  }

  /**
   * `verify`, answered synchronously (throws the same AuthException): verification is CPU work, and the JWT
   * guard, already async, need not pay a promise and a microtask per request for it.
   */
  verifyNow(token: string): AccessTokenClaims {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw invalid();
    const now = Math.floor(Date.now() / 1000);
    const known = this.verified.get(token, now);
    if (known) return known;

    const jws = decodeCompactJws(token);
    if (!jws || !this.headerAcceptable(jws.header)) throw invalid();
    const key = this.keys.verificationKey(jws.header.kid as string);
    if (!key || !verifySignature(this.config.jwt.algorithm, jws, key)) throw invalid();
    const claims = this.acceptedClaims(jws, now);
    if (!claims) throw invalid();
    this.verified.set(token, claims);
    return claims;
  }

  private headerAcceptable(header: Record<string, unknown>): boolean {
    return (
      header.alg === this.config.jwt.algorithm &&
      typeof header.kid === 'string' &&
      normalizedTyp(header.typ) === ACCESS_TOKEN_TYPE &&
      !FORBIDDEN_HEADERS.some((name) => name in header)
    );
  }

  private acceptedClaims({ payload }: DecodedJws, now: number): AccessTokenClaims | undefined {
    const { iss, aud, sub, org, sid, jti, iat, exp, nbf } = payload;
    const { issuer, audience } = this.config.jwt;
    if (iss !== issuer) return undefined;
    if (!(aud === audience || (Array.isArray(aud) && aud.includes(audience)))) return undefined;
    if (typeof sub !== 'string' || typeof org !== 'string' || typeof sid !== 'string' || typeof jti !== 'string') {
      return undefined;
    }
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return undefined;
    if (typeof exp !== 'number' || !Number.isFinite(exp) || exp <= now - CLOCK_TOLERANCE_SECONDS) return undefined;
    if (
      nbf !== undefined &&
      (typeof nbf !== 'number' || !Number.isFinite(nbf) || nbf > now + CLOCK_TOLERANCE_SECONDS)
    ) {
      return undefined;
    }
    // A fresh object of exactly the claims the app reads; frozen, since cached entries are shared.
    return Object.freeze({ sub, org, sid, jti, iat, exp });
  }
}
