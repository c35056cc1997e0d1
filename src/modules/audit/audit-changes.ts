/** Keys whose values never reach the audit log (compared case-insensitively). */
const SECRET_KEYS = new Set(
  [
    'password',
    'passwordHash',
    'token',
    'refreshToken',
    'accessToken',
    'mfaToken',
    'secret',
    'totpSecret',
    'code',
    'codeHash',
    'recoveryCodes',
  ].map((key) => key.toLowerCase()),
);
// Also catches currentPassword, newPassword, clientSecret, resetToken and the like.
const SECRET_SUFFIX = /(password|secret|token)$/i;

export const REDACTED = '[redacted]';

export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase()) || SECRET_SUFFIX.test(key);
}

/** A JSON-safe deep copy with every secret-named key's value replaced by '[redacted]', at any depth. */
export function redactSecrets<T>(value: T): T {
  return redact(toJson(value)) as T;
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, v]) => [key, isSecretKey(key) ? REDACTED : redact(v)]),
  );
}

/** What jsonb will hold: dates as ISO strings, undefined dropped. Hashing this keeps the hash verifiable. */
function toJson(value: unknown): unknown {
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
}

export interface AuditChanges {
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/**
 * Before/after of the fields that differ (a key missing on one side is left out of that side). Secrets are
 * redacted on both sides, so a changed password shows as changed without its value. Null when nothing changed.
 */
export function diffChanges(
  before: Record<string, unknown> | null | undefined,
  after: Record<string, unknown> | null | undefined,
): AuditChanges | null {
  const old = (before == null ? {} : (toJson(before) ?? {})) as Record<string, unknown>;
  const next = (after == null ? {} : (toJson(after) ?? {})) as Record<string, unknown>;
  const changes: AuditChanges = { before: {}, after: {} };
  let changed = false;
  // A created or deleted resource (one side empty): every key differs, no need to compare canonical forms.
  const oneSided = before == null || after == null;
  for (const key of new Set([...Object.keys(old), ...Object.keys(next)])) {
    if (!oneSided && JSON.stringify(canonical(old[key])) === JSON.stringify(canonical(next[key]))) continue;
    changed = true;
    if (key in old) changes.before[key] = isSecretKey(key) ? REDACTED : redact(old[key]);
    if (key in next) changes.after[key] = isSecretKey(key) ? REDACTED : redact(next[key]);
  }
  return changed ? changes : null;
}

/** Objects with sorted keys, so that key order is not a change. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, v]) => [key, canonical(v)]),
  );
}
