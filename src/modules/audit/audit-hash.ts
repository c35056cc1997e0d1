import { createHash } from 'node:crypto';
import type { ChainedAuditLog } from './audit-log.entity';

/** The entry's fields and its place in the chain (seq, prevHash): everything the hash covers. */
export type HashedFields = Omit<ChainedAuditLog, 'hash'>;

/** JSON with object keys sorted at every level: jsonb does not keep key order, the hash must not depend on it. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * hash = SHA-256(previous hash + canonical JSON of every other field). Editing, deleting or reordering any
 * entry breaks the link of the next one; verification recomputes the chain.
 */
export function auditHash(entry: HashedFields): string {
  const { prevHash, ...fields } = entry;
  return createHash('sha256')
    .update(prevHash ?? '')
    .update('\n')
    .update(canonicalJson({ ...fields, occurredAt: entry.occurredAt.toISOString() }))
    .digest('hex');
}
