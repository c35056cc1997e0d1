import type { Grant } from '../decision/grant';
import { patternIncludes } from '../permission';

/**
 * Whether a grant's scope covers a target scope (`targetPath` null = the whole organization): an
 * organization-wide grant covers everything; a department grant covers department targets in its subtree
 * and never an organization-wide target.
 */
export function scopeCovers(grant: Pick<Grant, 'departmentPath'>, targetPath: string | null): boolean {
  return grant.departmentPath === null || (targetPath !== null && targetPath.startsWith(grant.departmentPath));
}

/**
 * The patterns among `wanted` that the caller does not hold at the target scope: for each one there must be
 * a grant whose pattern includes it and whose scope covers the target. Empty means granting them is no
 * privilege escalation.
 */
export function patternsNotHeld(
  grants: readonly Grant[],
  wanted: readonly string[],
  targetPath: string | null,
): string[] {
  return wanted.filter(
    (pattern) => !grants.some((grant) => patternIncludes(grant.pattern, pattern) && scopeCovers(grant, targetPath)),
  );
}
