import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { ScureBase32Plugin, verifySync } from 'otplib';
import { toDataURL } from 'qrcode';
import { AppConfig } from '../../config/app.config';

// RFC 6238 as every authenticator app implements it: HMAC-SHA-1, 6 digits, 30-second steps.
const ALGORITHM = 'sha1';
const DIGITS = 6;
const PERIOD_SECONDS = 30;
// 160 bits, the HMAC-SHA-1 output size that RFC 4226 recommends for the shared secret.
const SECRET_BYTES = 20;
// One step either side absorbs clock drift and a code typed just as it rolled over, and no more.
const SKEW_STEPS = 1;
const CODE = /^\d{6}$/;

const base32 = new ScureBase32Plugin();

/** The 30-second time step `unixMillis` falls in, as stored in `lastAcceptedStep`. */
export function totpStep(unixMillis: number): number {
  return Math.floor(unixMillis / 1000 / PERIOD_SECONDS);
}

/** TOTP (authenticator app) enrolment and verification with replay protection. */
@Injectable()
export class TotpService {
  constructor(private readonly config: AppConfig) {}

  /** A new shared secret: 20 bytes from the CSPRNG as 32 base32 characters, unpadded. */
  generateSecret(): string {
    return base32.encode(randomBytes(SECRET_BYTES));
  }

  /**
   * The `otpauth://` URI an authenticator app scans. The parameters are spelled out even where they are
   * the defaults, because some apps ignore defaults they do not see.
   */
  keyUri(accountEmail: string, secret: string): string {
    const issuer = this.config.auth.totpIssuer;
    const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(accountEmail)}`;
    const params: [string, string][] = [
      ['secret', secret],
      ['issuer', issuer],
      ['algorithm', ALGORITHM.toUpperCase()],
      ['digits', String(DIGITS)],
      ['period', String(PERIOD_SECONDS)],
    ];
    // encodeURIComponent rather than URLSearchParams: apps show "+" literally, so spaces must be %20.
    const query = params.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&');
    return `otpauth://totp/${label}?${query}`;
  }

  /** The key URI as a PNG QR code, ready for an `<img src>`. */
  qrCodeDataUrl(uri: string): Promise<string> {
    return toDataURL(uri, { errorCorrectionLevel: 'M', type: 'image/png', margin: 2, width: 256 });
  }

  /**
   * The time step `code` is valid for, within one step of `now`, or null. Store the result as the user's
   * `lastAcceptedStep`: a code is accepted only for a step after it, so a code cannot be replayed, and an
   * older code is refused once a newer one has been used. Anything but six digits is null, not an error.
   */
  verify(code: string, secret: string, lastAcceptedStep: number | null, now = Date.now()): number | null {
    if (!CODE.test(code)) return null;
    const latestStep = totpStep(now) + SKEW_STEPS;
    // Nothing in the window is newer (the clock went back, or the newest step was already used).
    if (lastAcceptedStep !== null && lastAcceptedStep >= latestStep) return null;
    const result = verifySync({
      secret,
      token: code,
      algorithm: ALGORITHM,
      digits: DIGITS,
      period: PERIOD_SECONDS,
      epoch: Math.floor(now / 1000),
      epochTolerance: SKEW_STEPS * PERIOD_SECONDS,
      afterTimeStep: lastAcceptedStep === null || lastAcceptedStep < 0 ? undefined : lastAcceptedStep,
    });
    // otplib types the result as TOTP-or-HOTP; only the TOTP one carries timeStep, and that is what ran.
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  }
}
