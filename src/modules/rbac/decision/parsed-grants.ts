import type { Grant } from './grant';

/** Users whose last parsed grants are kept; beyond it the least recently changed entry goes first. */
export const PARSED_GRANTS_MAX = 2_000;

/**
 * The last grants JSON read from Redis per user, and what it parsed to. Every request still reads the
 * grants from Redis (so a change is seen by the very next request); only parsing the same text again is
 * skipped — it was most of the permission check's own CPU. An entry is reused only for byte-identical text,
 * and the grants are frozen, since every request of the user shares them.
 */
export class ParsedGrants {
  private readonly entries = new Map<string, { json: string; grants: Grant[] }>();

  constructor(private readonly maxEntries = PARSED_GRANTS_MAX) {}

  get size(): number {
    return this.entries.size;
  }

  parse(key: string, json: string): Grant[] {
    const known = this.entries.get(key);
    if (known?.json === json) return known.grants;
    const grants = Object.freeze((JSON.parse(json) as Grant[]).map((grant) => Object.freeze(grant))) as Grant[];
    // Re-inserted at the end, so that the first key is always the one that changed longest ago.
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { json, grants });
    return grants;
  }
}
