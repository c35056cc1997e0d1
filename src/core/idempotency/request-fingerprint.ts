import { createHash } from 'node:crypto';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Set to `true` on a response replayed from a stored result instead of produced by the handler. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/** 1–255 printable ASCII characters (space to tilde). */
const VALID_KEY = /^[\x20-\x7e]{1,255}$/;

export function isValidIdempotencyKey(key: unknown): key is string {
  return typeof key === 'string' && VALID_KEY.test(key);
}

/**
 * JSON with object keys sorted at every level, so that `{"a":1,"b":2}` and `{"b":2,"a":1}` are one request.
 * Follows JSON.stringify otherwise (toJSON, undefined members dropped, undefined array items as null).
 */
export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, item: unknown) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(item).sort()) sorted[key] = (item as Record<string, unknown>)[key];
      return sorted;
    }) ?? 'null'
  );
}

/** SHA-256 (hex) of what makes two requests "the same": the route params and the body. */
export function requestHash(params: unknown, body: unknown): string {
  const hash = createHash('sha256')
    .update(canonicalJson(params ?? {}))
    .update('\n');
  if (Buffer.isBuffer(body)) hash.update('buffer:').update(body);
  else if (typeof body === 'string') hash.update('string:').update(body);
  else hash.update('json:').update(canonicalJson(body ?? null));
  return hash.digest('hex');
}
