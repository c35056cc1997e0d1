import { diffChanges, REDACTED, redactSecrets } from './audit-changes';

describe('diffChanges', () => {
  it('should keep only the fields that changed', () => {
    expect(diffChanges({ name: 'a', description: 'same' }, { name: 'b', description: 'same' })).toEqual({
      before: { name: 'a' },
      after: { name: 'b' },
    });
  });

  it('should return null when nothing changed, whatever the key order', () => {
    expect(diffChanges({ a: { x: 1, y: 2 } }, { a: { y: 2, x: 1 } })).toBeNull();
  });

  it('should show a changed secret as changed without its value', () => {
    expect(diffChanges({ passwordHash: 'old' }, { passwordHash: 'new' })).toEqual({
      before: { passwordHash: REDACTED },
      after: { passwordHash: REDACTED },
    });
  });

  it('should record every field, JSON-safe and redacted, when the resource was created or deleted', () => {
    const after = { id: 'x', at: new Date('2026-01-02T03:04:05.678Z'), skip: undefined, empty: null, token: 't' };
    const expected = { id: 'x', at: '2026-01-02T03:04:05.678Z', empty: null, token: REDACTED };
    expect(diffChanges(null, after)).toEqual({ before: {}, after: expected });
    expect(diffChanges(after, undefined)).toEqual({ before: expected, after: {} });
    expect(Object.keys(diffChanges(null, after)?.after ?? {})).toEqual(['id', 'at', 'empty', 'token']);
    expect(diffChanges(null, {})).toBeNull();
    expect(diffChanges(null, { skip: undefined })).toBeNull();
  });
});

describe('redactSecrets', () => {
  it('should redact secret-named keys at any depth', () => {
    expect(
      redactSecrets({ email: 'a@b.c', nested: { refreshToken: 't', list: [{ code: '123456' }] }, newPassword: 'p' }),
    ).toEqual({
      email: 'a@b.c',
      nested: { refreshToken: REDACTED, list: [{ code: REDACTED }] },
      newPassword: REDACTED,
    });
  });
});
