/** The brute-force rule for password and 2FA-code failures, as a pure function of the user's counters. */
export interface LockoutCounters {
  failedLoginCount: number;
  lockoutCount: number;
  lockedUntil: Date | null;
}

export interface LockoutSettings {
  threshold: number;
  baseSeconds: number;
  maxSeconds: number;
}

export function isLocked(counters: LockoutCounters, now: Date): boolean {
  return counters.lockedUntil !== null && counters.lockedUntil > now;
}

/**
 * After a failure: the THRESHOLD-th failure in a row locks the account for BASE × 2^(earlier lockouts),
 * capped at MAX, and starts counting afresh. `locked` says whether this failure caused a lockout.
 */
export function afterFailure(
  counters: LockoutCounters,
  settings: LockoutSettings,
  now: Date,
): LockoutCounters & { locked: boolean } {
  const failed = counters.failedLoginCount + 1;
  if (failed < settings.threshold) return { ...counters, failedLoginCount: failed, locked: false };
  const seconds = Math.min(settings.baseSeconds * 2 ** counters.lockoutCount, settings.maxSeconds);
  return {
    failedLoginCount: 0,
    lockoutCount: counters.lockoutCount + 1,
    lockedUntil: new Date(now.getTime() + seconds * 1000),
    locked: true,
  };
}

/** A success resets everything, including the growth of the lockout period. */
export const AFTER_SUCCESS: LockoutCounters = { failedLoginCount: 0, lockoutCount: 0, lockedUntil: null };
