import { decide, holdsAnywhere, readableScope, type Grant } from './grant';

const grant = (pattern: string, departmentPath: string | null, roleName = 'role'): Grant => ({
  pattern,
  roleId: `${roleName}-id`,
  roleName,
  assignmentId: `${roleName}-${pattern}-${departmentPath ?? 'org'}`,
  departmentId: departmentPath ? (departmentPath.split('/').filter(Boolean).pop() ?? null) : null,
  departmentPath,
});

// Tree: /sales/ → /sales/emea/ → /sales/emea/nordics/, and /support/
const SALES = '/sales/';
const EMEA = '/sales/emea/';
const NORDICS = '/sales/emea/nordics/';
const SUPPORT = '/support/';

describe('decide', () => {
  it('should let an organization-wide grant cover every department and organization-level resources', () => {
    const grants = [grant('customers:*', null)];
    for (const target of [SALES, NORDICS, SUPPORT, null])
      expect(decide(grants, 'customers:update', target).allowed).toBe(true);
  });

  it('should let a department grant cover the department and all its descendants only', () => {
    const grants = [grant('customers:update', EMEA)];
    expect(decide(grants, 'customers:update', EMEA).allowed).toBe(true);
    expect(decide(grants, 'customers:update', NORDICS).allowed).toBe(true);
    expect(decide(grants, 'customers:update', SALES).allowed).toBe(false);
    expect(decide(grants, 'customers:update', SUPPORT).allowed).toBe(false);
    expect(decide(grants, 'customers:update', null).allowed).toBe(false);
  });

  it('should not confuse a department with a sibling whose id starts the same way', () => {
    const grants = [grant('customers:read', '/ab/')];
    expect(decide(grants, 'customers:read', '/abc/').allowed).toBe(false);
  });

  it('should require the action to match', () => {
    const grants = [grant('customers:read', null)];
    expect(decide(grants, 'customers:delete', SALES)).toEqual({ allowed: false, grantedBy: null });
  });

  it('should name the broadest grant that allows it', () => {
    const grants = [grant('customers:*', NORDICS, 'local'), grant('customers:update', SALES, 'regional')];
    expect(decide(grants, 'customers:update', NORDICS).grantedBy?.roleName).toBe('regional');
    const withOrg = [...grants, grant('*:*', null, 'owner')];
    expect(decide(withOrg, 'customers:update', NORDICS).grantedBy?.roleName).toBe('owner');
  });
});

describe('holdsAnywhere', () => {
  it('should be true when any grant covers the permission at any scope', () => {
    expect(holdsAnywhere([grant('posts:*', NORDICS)], 'posts:publish')).toBe(true);
    expect(holdsAnywhere([grant('posts:read', NORDICS)], 'posts:publish')).toBe(false);
    expect(holdsAnywhere([], 'posts:read')).toBe(false);
  });
});

describe('readableScope', () => {
  it('should be everything with an organization-wide grant', () => {
    expect(readableScope([grant('customers:read', EMEA), grant('*:read', null)], 'customers:read')).toEqual({
      all: true,
    });
  });

  it('should collapse nested department grants to their top-most ancestors', () => {
    const scope = readableScope(
      [grant('customers:read', NORDICS), grant('customers:*', SALES), grant('customers:read', SUPPORT)],
      'customers:read',
    );
    expect(scope).toEqual({ all: false, paths: [SALES, SUPPORT] });
  });

  it('should be nothing without a matching grant', () => {
    expect(readableScope([grant('posts:read', null)], 'customers:read')).toEqual({ all: false, paths: [] });
  });
});
