import { patternCovers } from '../permission';

/** One permission pattern a user holds, and where: the whole organization or one department subtree. */
export interface Grant {
  pattern: string;
  roleId: string;
  roleName: string;
  assignmentId: string;
  /** null = organization-wide. */
  departmentId: string | null;
  /** Materialized path of departmentId ('/root/…/dept/'); null for organization-wide grants. */
  departmentPath: string | null;
}

export interface Decision {
  allowed: boolean;
  grantedBy: Grant | null;
}

/**
 * The rule of DESIGN.md §3: allowed iff some grant covers the permission at a scope covering the target.
 * `targetPath` is the resource's department path, or null for organization-level resources, which only an
 * organization-wide grant covers. Organization-wide grants win ties, so "why" names the broadest grant.
 */
export function decide(grants: readonly Grant[], permission: string, targetPath: string | null): Decision {
  let best: Grant | null = null;
  for (const grant of grants) {
    if (!patternCovers(grant.pattern, permission)) continue;
    const covers =
      grant.departmentPath === null || (targetPath !== null && targetPath.startsWith(grant.departmentPath));
    if (!covers) continue;
    if (grant.departmentPath === null) return { allowed: true, grantedBy: grant };
    if (!best || (best.departmentPath?.length ?? 0) > grant.departmentPath.length) best = grant;
  }
  return { allowed: best !== null, grantedBy: best };
}

/** Holds the permission anywhere (organization-wide or in some department)? The guard's first check. */
export function holdsAnywhere(grants: readonly Grant[], permission: string): boolean {
  return grants.some((grant) => patternCovers(grant.pattern, permission));
}

/**
 * Where a list may look: everything (organization-wide grant) or the subtrees of these department paths.
 * Nested paths are collapsed to their top-most ancestor.
 */
export function readableScope(
  grants: readonly Grant[],
  permission: string,
): { all: true } | { all: false; paths: string[] } {
  const paths: string[] = [];
  for (const grant of grants) {
    if (!patternCovers(grant.pattern, permission)) continue;
    if (grant.departmentPath === null) return { all: true };
    paths.push(grant.departmentPath);
  }
  const roots = [...new Set(paths)]
    .sort((a, b) => a.length - b.length)
    .filter((path, i, all) => !all.slice(0, i).some((p) => path.startsWith(p)));
  return { all: false, paths: roots };
}
