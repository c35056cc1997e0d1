/**
 * ETags of versioned resources (a `version` column that every change increments): the version, quoted. A
 * strong validator, since any change increments it.
 */
export function versionEtag(resource: { version: number }): string {
  return `"${resource.version}"`;
}

/**
 * The version an If-Match header asks for: undefined when absent or `*` (no precondition). Anything that is
 * not one of our ETags can never match, so it fails like a stale one: `mismatch()` builds the error (each
 * feature's own 412 exception).
 */
export function versionFromIfMatch(header: string | undefined, mismatch: () => Error): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(header);
  if (!match) throw mismatch();
  return Number(match[1]);
}
