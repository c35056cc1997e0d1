import { Injectable } from '@nestjs/common';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../../config/app.config';
import { AuthException, AuthExceptionCode } from '../auth.exception';
import { JwtKeys } from './jwt-keys.service';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenClaims {
  sub: string;
  org: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
}

// Header parameters that point a verifier at keys chosen by the token itself: never honoured, so refused.
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'] as const;

function invalid(): AuthException {
  return new AuthException(AuthExceptionCode.InvalidToken, 'The access token is invalid or expired.');
}

/** Signs and verifies access tokens (RFC 9068 `at+jwt`) with the one configured algorithm. */
@Injectable()
export class AccessTokens {
  constructor(
    private readonly keys: JwtKeys,
    private readonly config: AppConfig,
  ) {}

  get ttlSeconds(): number {
    return this.config.jwt.accessTtlSeconds;
  }

  async sign(subject: { userId: string; organizationId: string; sessionId: string }): Promise<string> {
    const { kid, privateKey } = this.keys.signingKey;
    // One clock reading for both: read twice, a second boundary between them would stretch exp - iat by 1 s.
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ org: subject.organizationId, sid: subject.sessionId })
      .setProtectedHeader({ alg: this.config.jwt.algorithm, typ: ACCESS_TOKEN_TYPE, kid })
      .setIssuer(this.config.jwt.issuer)
      .setAudience(this.config.jwt.audience)
      .setSubject(subject.userId)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + this.config.jwt.accessTtlSeconds)
      .sign(privateKey);
  }

  /** Verifies signature (pinned algorithm, known kid), typ, iss, aud, expiry and required claims. */
  async verify(token: string): Promise<AccessTokenClaims> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw invalid();
    }
    if (header.alg !== this.config.jwt.algorithm || typeof header.kid !== 'string') throw invalid();
    if (FORBIDDEN_HEADERS.some((name) => name in header)) throw invalid();
    const key = this.keys.verificationKey(header.kid);
    if (!key) throw invalid();
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [this.config.jwt.algorithm],
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ['sub', 'org', 'sid', 'jti', 'iat', 'exp'],
        clockTolerance: 5,
      });
      if (typeof payload.org !== 'string' || typeof payload.sid !== 'string') throw invalid();
      return payload as unknown as AccessTokenClaims;
    } catch {
      throw invalid();
    }
  }
}
