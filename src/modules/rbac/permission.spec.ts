import { isPermissionPattern, patternCovers, patternIncludes } from './permission';

describe('permission patterns', () => {
  it.each([
    ['customers:update', 'customers:update', true],
    ['customers:*', 'customers:update', true],
    ['*:update', 'customers:update', true],
    ['*:*', 'audit:read', true],
    ['customers:read', 'customers:update', false],
    ['posts:*', 'customers:update', false],
    ['*:read', 'customers:update', false],
  ])('should decide that %s covers %s: %s', (pattern, permission, expected) => {
    expect(patternCovers(pattern, permission)).toBe(expected);
  });

  it.each([
    ['*:*', 'customers:*', true],
    ['customers:*', 'customers:*', true],
    ['customers:*', 'customers:read', true],
    ['customers:read', 'customers:*', false],
    ['*:read', 'customers:read', true],
    ['*:read', '*:*', false],
    ['customers:*', '*:read', false],
  ])('should decide that holding %s includes granting %s: %s', (held, wanted, expected) => {
    expect(patternIncludes(held, wanted)).toBe(expected);
  });

  it.each(['customers:read', 'customers:*', '*:read', '*:*'])('should accept the pattern %s', (pattern) => {
    expect(isPermissionPattern(pattern)).toBe(true);
  });

  it.each(['customers', 'customers:', ':read', 'Customers:read', 'customers:read:x', "customers:read' OR 1=1", '*'])(
    'should refuse the malformed pattern %j',
    (pattern) => {
      expect(isPermissionPattern(pattern)).toBe(false);
    },
  );
});
