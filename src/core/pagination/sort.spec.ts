import { ValidationException } from '../exceptions/app.exception';
import { defineList, parseSort, sortParamValues, type ListSpec } from './sort';

const CUSTOMERS = defineList({
  scope: 'customers',
  idColumn: 'c.id',
  sorts: [
    { field: 'createdAt', column: 'c.created_at', type: 'date' },
    { field: 'name', column: 'c.name', type: 'string' },
  ],
  defaultSort: '-createdAt',
});

function sortError(run: () => unknown): ValidationException {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationException);
    return error as ValidationException;
  }
  throw new Error('expected a ValidationException');
}

describe(parseSort.name, () => {
  it('should sort ascending when the field has no prefix', () => {
    expect(parseSort('name', CUSTOMERS)).toEqual({ spec: CUSTOMERS.sorts[1], direction: 'asc' });
  });

  it('should sort descending when the field is prefixed with -', () => {
    expect(parseSort('-createdAt', CUSTOMERS)).toEqual({ spec: CUSTOMERS.sorts[0], direction: 'desc' });
  });

  it('should use the list default when sort is absent', () => {
    expect(parseSort(undefined, CUSTOMERS)).toEqual({ spec: CUSTOMERS.sorts[0], direction: 'desc' });
  });

  it.each(['email', '-email', '', '-', '--name', '+name', 'Name', 'c.created_at', 'name,createdAt', ' name'])(
    'should reject the sort naming the allowed values when given %p',
    (raw) => {
      expect(sortError(() => parseSort(raw, CUSTOMERS)).errors).toEqual([
        { field: 'sort', message: 'sort must be one of: createdAt, -createdAt, name, -name' },
      ]);
    },
  );
});

describe(defineList.name, () => {
  const valid: ListSpec = {
    scope: 'x',
    idColumn: 't.id',
    sorts: [{ field: 'a', column: 't.a', type: 'string' }],
    defaultSort: 'a',
  };

  it('should list both directions of every field when asked for the accepted values', () => {
    expect(sortParamValues(CUSTOMERS)).toEqual(['createdAt', '-createdAt', 'name', '-name']);
  });

  it('should return a frozen copy when the definition is valid', () => {
    const list = defineList(valid);
    expect(list).toEqual(valid);
    expect(Object.isFrozen(list.sorts[0])).toBe(true);
  });

  it.each([
    ['the default is not whitelisted', { ...valid, defaultSort: '-b' }, 'defaultSort "-b"'],
    ['a field is listed twice', { ...valid, sorts: [...valid.sorts, ...valid.sorts] }, 'listed twice'],
    [
      'a field name has a prefix',
      { ...valid, sorts: [{ field: '-a', column: 't.a', type: 'string' as const }] },
      'invalid sort field',
    ],
    ['there are no sorts', { ...valid, sorts: [] }, 'at least one sort'],
    ['the scope is empty', { ...valid, scope: '' }, 'scope'],
  ])('should throw at startup when %s', (_label, list, message) => {
    expect(() => defineList(list)).toThrow(message);
  });
});
