import { createHash, randomBytes, randomInt } from 'node:crypto';

/**
 * Recovery codes are read off paper and typed back, so the alphabet leaves out characters people confuse
 * (0/o, 1/l/i). 31 symbols × 12 positions ≈ 59 bits: far beyond guessing behind rate limits and lockout.
 */
export const RECOVERY_CODE_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const RECOVERY_CODE_GROUPS = 3;
const RECOVERY_CODE_GROUP_LENGTH = 4;

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
}

/**
 * `n` decimal digits for one-time codes, leading zeros kept (a string, never a number). Each digit comes from
 * `crypto.randomInt`, which rejects biased draws, so every code is equally likely.
 */
export function randomDigits(n: number): string {
  assertPositiveInteger('n', n);
  let digits = '';
  for (let i = 0; i < n; i++) digits += randomInt(10).toString();
  return digits;
}

/** An opaque bearer secret (refresh tokens, links): `bytes` random bytes as base64url, safe in URLs and headers. */
export function randomToken(bytes = 32): string {
  assertPositiveInteger('bytes', bytes);
  return randomBytes(bytes).toString('base64url');
}

/**
 * SHA-256 as hex, for storing high-entropy secrets (tokens, codes) so a database leak does not hand them out.
 * A fast hash is right here because the inputs are random, not human-chosen; passwords go to PasswordHasher.
 */
export function sha256(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

/** A recovery code like `k7mq-3xpd-t9wa`; store `sha256(normalizeRecoveryCode(code))`, never the code. */
export function recoveryCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < RECOVERY_CODE_GROUPS; g++) {
    let group = '';
    for (let i = 0; i < RECOVERY_CODE_GROUP_LENGTH; i++) {
      group += RECOVERY_CODE_ALPHABET[randomInt(RECOVERY_CODE_ALPHABET.length)];
    }
    groups.push(group);
  }
  return groups.join('-');
}

/**
 * What a user typed, in the form recovery codes are hashed in: case, spaces and hyphens do not matter, so
 * `K7MQ 3XPD T9WA` matches `k7mq-3xpd-t9wa`.
 */
export function normalizeRecoveryCode(input: string): string {
  const compact = input.toLowerCase().replace(/[\s-]/g, '');
  if (compact.length !== RECOVERY_CODE_GROUPS * RECOVERY_CODE_GROUP_LENGTH) return compact;
  const groups = compact.match(new RegExp(`.{${RECOVERY_CODE_GROUP_LENGTH}}`, 'g')) ?? [];
  return groups.join('-');
}
