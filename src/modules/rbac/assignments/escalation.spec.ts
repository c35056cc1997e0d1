import type { Grant } from '../decision/grant';
import { patternsNotHeld, scopeCovers } from './escalation';

function grant(pattern: string, departmentPath: string | null): Grant {
  return {
    pattern,
    roleId: 'r',
    roleName: 'R',
    assignmentId: 'a',
    departmentId: departmentPath ? 'd' : null,
    departmentPath,
  };
}

describe(patternsNotHeld.name, () => {
  it('should accept patterns an organization-wide grant includes at any scope', () => {
    const grants = [grant('customers:*', null), grant('*:read', null)];
    expect(patternsNotHeld(grants, ['customers:update', 'customers:*', 'posts:read', '*:read'], null)).toEqual([]);
    expect(patternsNotHeld(grants, ['customers:read'], '/a/b/')).toEqual([]);
  });

  it('should name the patterns no grant includes when they are broader or different', () => {
    const grants = [grant('customers:*', null)];
    expect(patternsNotHeld(grants, ['*:*', '*:read', 'posts:read', 'customers:read'], null)).toEqual([
      '*:*',
      '*:read',
      'posts:read',
    ]);
  });

  it('should let a department grant cover its subtree but never the organization or another branch', () => {
    const grants = [grant('*:*', '/a/')];
    expect(patternsNotHeld(grants, ['customers:read'], '/a/')).toEqual([]);
    expect(patternsNotHeld(grants, ['customers:read'], '/a/b/')).toEqual([]);
    expect(patternsNotHeld(grants, ['customers:read'], null)).toEqual(['customers:read']);
    expect(patternsNotHeld(grants, ['customers:read'], '/c/')).toEqual(['customers:read']);
  });
});

describe(scopeCovers.name, () => {
  it('should cover a target when the grant is organization-wide or an ancestor department', () => {
    expect(scopeCovers({ departmentPath: null }, null)).toBe(true);
    expect(scopeCovers({ departmentPath: '/a/' }, '/a/b/')).toBe(true);
    expect(scopeCovers({ departmentPath: '/a/b/' }, '/a/')).toBe(false);
    expect(scopeCovers({ departmentPath: '/a/' }, null)).toBe(false);
  });
});
