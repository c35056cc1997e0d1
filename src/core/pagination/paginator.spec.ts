import { AppConfig } from '../../config/app.config';
import { ValidationException, type FieldError } from '../exceptions/app.exception';
import { CursorCodec } from './cursor.codec';
import { PageLimits } from './page-limits';
import { Paginator } from './paginator';
import { defineList } from './sort';

const ID = '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88';
const LIST = defineList({
  scope: 'customers',
  idColumn: 'c.id',
  sorts: [
    { field: 'createdAt', column: 'c.created_at', type: 'date' },
    { field: 'name', column: 'c.name', type: 'string' },
  ],
  defaultSort: '-createdAt',
});

function fieldErrors(run: () => unknown): FieldError[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationException);
    return (error as ValidationException).errors;
  }
  throw new Error('expected a ValidationException');
}

describe(Paginator.name, () => {
  const config = AppConfig.fromEnv({
    NODE_ENV: 'test',
    CURSOR_SECRET: 'unit-test-cursor-secret-0123456789',
    PAGINATION_DEFAULT_LIMIT: '25',
    PAGINATION_MAX_LIMIT: '50',
  });
  const codec = new CursorCodec(config);
  const paginator = new Paginator(codec, PageLimits.fromConfig(config));

  it('should apply the configured default limit and default sort when the query is empty', () => {
    expect(paginator.resolve({}, LIST)).toEqual({
      scope: 'customers',
      sort: LIST.sorts[0],
      direction: 'desc',
      after: undefined,
      limit: 25,
      idColumn: 'c.id',
    });
  });

  it('should keep the requested limit when it is within the maximum', () => {
    expect(paginator.resolve({ limit: 50 }, LIST).limit).toBe(50);
  });

  it.each([0, -1, 1.5, Number.NaN])('should reject limit %p when called without the validation pipe', (limit) => {
    expect(fieldErrors(() => paginator.resolve({ limit }, LIST))).toEqual([
      { field: 'limit', message: 'limit must be an integer not less than 1' },
    ]);
  });

  it('should reject limit over the injected maximum when called without the validation pipe', () => {
    expect(fieldErrors(() => paginator.resolve({ limit: 51 }, LIST))).toEqual([
      { field: 'limit', message: 'limit must not be greater than 50' },
    ]);
  });

  it('should reject an unknown sort when it is not whitelisted', () => {
    expect(fieldErrors(() => paginator.resolve({ sort: 'email' }, LIST))[0].field).toBe('sort');
  });

  it('should continue after the next cursor when the same sort is requested again', () => {
    const first = paginator.resolve({ sort: 'name', limit: 1 }, LIST);
    const page = paginator.page(
      [
        { id: ID, name: 'Acme' },
        { id: ID, name: 'Beta' },
      ],
      first,
    );
    expect(page.page).toEqual({ limit: 1, nextCursor: expect.any(String), hasMore: true });
    const second = paginator.resolve({ sort: 'name', limit: 1, cursor: page.page.nextCursor ?? '' }, LIST);
    expect(second.after).toMatchObject({ value: 'Acme', id: ID });
  });

  it('should reject the cursor when the next request changes the sort', () => {
    const first = paginator.resolve({ sort: 'name', limit: 1 }, LIST);
    const cursor =
      paginator.page(
        [
          { id: ID, name: 'A' },
          { id: ID, name: 'B' },
        ],
        first,
      ).page.nextCursor ?? '';
    expect(fieldErrors(() => paginator.resolve({ sort: '-name', cursor }, LIST))[0].field).toBe('cursor');
    expect(fieldErrors(() => paginator.resolve({ cursor }, LIST))[0].field).toBe('cursor');
  });

  it('should reject the cursor when it comes from another parent of a narrowed scope', () => {
    const first = paginator.resolve({ sort: 'name', limit: 1 }, LIST, { scope: 'customers:a' });
    const cursor =
      paginator.page(
        [
          { id: ID, name: 'A' },
          { id: ID, name: 'B' },
        ],
        first,
      ).page.nextCursor ?? '';
    expect(paginator.resolve({ sort: 'name', cursor }, LIST, { scope: 'customers:a' }).after?.value).toBe('A');
    expect(
      fieldErrors(() => paginator.resolve({ sort: 'name', cursor }, LIST, { scope: 'customers:b' }))[0].field,
    ).toBe('cursor');
  });
});
