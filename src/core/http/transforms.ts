/*
 * `@Transform` functions for request DTOs. A value of another type passes through unchanged, for the
 * validators to refuse.
 */

export const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

/** Emails are compared case-insensitively: trimmed and lower-cased before validation. */
export const normalizeEmail = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

/** `?status=a&status=b` arrives as an array, `?status=a,b` as one string: both mean the same filter. */
export const commaList = ({ value }: { value: unknown }): unknown =>
  (Array.isArray(value) ? value : [value]).flatMap((item: unknown) =>
    typeof item === 'string' ? item.split(',').map((part) => part.trim()) : [item],
  );
