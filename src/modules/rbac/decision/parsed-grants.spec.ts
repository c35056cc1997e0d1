import type { Grant } from './grant';
import { ParsedGrants } from './parsed-grants';

const grant = (pattern: string): Grant => ({
  pattern,
  roleId: 'r1',
  roleName: 'Agent',
  assignmentId: 'a1',
  departmentId: null,
  departmentPath: null,
});

describe(ParsedGrants.name, () => {
  it('should return the grants parsed before when the same user sends byte-identical text', () => {
    const parsed = new ParsedGrants();
    const first = parsed.parse('org:u1', JSON.stringify([grant('customers:read')]));
    const again = parsed.parse('org:u1', JSON.stringify([grant('customers:read')]));
    expect(again).toBe(first);
    expect(again).toEqual([grant('customers:read')]);
  });

  it('should parse again when the text changed (a role granted or taken away)', () => {
    const parsed = new ParsedGrants();
    parsed.parse('org:u1', JSON.stringify([grant('customers:read')]));
    expect(parsed.parse('org:u1', JSON.stringify([grant('customers:read'), grant('posts:read')]))).toEqual([
      grant('customers:read'),
      grant('posts:read'),
    ]);
    expect(parsed.parse('org:u1', '[]')).toEqual([]);
  });

  it('should freeze what it shares between requests', () => {
    const grants = new ParsedGrants().parse('org:u1', JSON.stringify([grant('customers:read')]));
    expect(Object.isFrozen(grants)).toBe(true);
    expect(Object.isFrozen(grants[0])).toBe(true);
  });

  it('should keep at most its bound, dropping the entry that changed longest ago', () => {
    const parsed = new ParsedGrants(2);
    parsed.parse('b', '[]');
    const a = parsed.parse('a', '[]');
    const b = parsed.parse('b', JSON.stringify([grant('x')]));
    parsed.parse('c', '[]');
    expect(parsed.size).toBe(2);
    // 'a' went: 'b' changed after it and is still known.
    expect(parsed.parse('b', JSON.stringify([grant('x')]))).toBe(b);
    expect(parsed.parse('a', '[]')).not.toBe(a);
  });
});
