/*
 * `@Transform` functions for request DTOs. A value of another type passes through unchanged, for the
 * validators to refuse.
 */

export const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

/** Emails are compared case-insensitively: trimmed and lower-cased before validation. */
export const normalizeEmail = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;
