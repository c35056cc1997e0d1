import { ValidationException, type FieldError } from '../exceptions/app.exception';
import { createValidationPipe } from '../http/validation.pipe';
import { activatePageLimits, PageLimits } from './page-limits';
import { PageQueryDto } from './page-query.dto';

describe(PageQueryDto.name, () => {
  const pipe = createValidationPipe();
  const validate = (query: Record<string, unknown>): Promise<PageQueryDto> =>
    pipe.transform(query, { type: 'query', metatype: PageQueryDto });

  async function queryErrors(query: Record<string, unknown>): Promise<FieldError[]> {
    const error = await validate(query).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(ValidationException);
    return (error as ValidationException).errors;
  }

  beforeAll(() => activatePageLimits(new PageLimits(20, 100)));

  it('should convert the query string limit to a number when it is a valid integer', async () => {
    await expect(validate({ limit: '7', cursor: 'abc', sort: '-name' })).resolves.toEqual({
      limit: 7,
      cursor: 'abc',
      sort: '-name',
    });
  });

  it('should accept the configured maximum when limit equals it', async () => {
    await expect(validate({ limit: '100' })).resolves.toEqual({ limit: 100 });
  });

  it('should leave limit undefined when it is absent', async () => {
    await expect(validate({})).resolves.toEqual({});
  });

  it.each(['0', '-1', '-100'])('should reject limit when it is %s', async (limit) => {
    expect(await queryErrors({ limit })).toEqual([{ field: 'limit', message: 'limit must not be less than 1' }]);
  });

  it('should reject limit instead of clamping it when it is over the configured maximum', async () => {
    expect(await queryErrors({ limit: '101' })).toEqual([
      { field: 'limit', message: 'limit must not be greater than 100' },
    ]);
  });

  it('should use the maximum of the running configuration when limits were activated again', async () => {
    activatePageLimits(new PageLimits(5, 10));
    try {
      expect(await queryErrors({ limit: '11' })).toEqual([
        { field: 'limit', message: 'limit must not be greater than 10' },
      ]);
    } finally {
      activatePageLimits(new PageLimits(20, 100));
    }
  });

  it.each(['abc', '1.5', '', '1e400', ['1', '2']])('should reject limit when it is %p', async (limit) => {
    const errors = await queryErrors({ limit });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((error) => error.field === 'limit')).toBe(true);
  });

  it('should reject a repeated cursor parameter when it arrives as an array', async () => {
    expect(await queryErrors({ cursor: ['a', 'b'] })).toEqual([
      { field: 'cursor', message: 'cursor must be a string' },
    ]);
  });

  it('should reject unknown parameters when they are not declared', async () => {
    expect(await queryErrors({ offset: '10' })).toEqual([
      { field: 'offset', message: 'property offset should not exist' },
    ]);
  });
});
