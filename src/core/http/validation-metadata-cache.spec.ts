import { IsInt, IsOptional, IsString, Length, getMetadataStorage } from 'class-validator';
import { ValidationException, type FieldError } from '../exceptions/app.exception';
import { cacheValidationMetadata } from './validation-metadata-cache';
import { createValidationPipe } from './validation.pipe';

class Named {
  @IsString()
  @Length(1, 5)
  name!: string;
}

describe(cacheValidationMetadata.name, () => {
  const pipe = createValidationPipe();
  const validate = (value: Record<string, unknown>, metatype: new () => object): Promise<unknown> =>
    pipe.transform(value, { type: 'body', metatype });

  async function errorsOf(value: Record<string, unknown>, metatype: new () => object): Promise<FieldError[]> {
    const error = await validate(value, metatype).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(ValidationException);
    return (error as ValidationException).errors;
  }

  it('should be installed on the process-wide storage by the pipe, once', () => {
    const storage = getMetadataStorage();
    const lookup = storage.getTargetValidationMetadatas;
    cacheValidationMetadata();
    expect(storage.getTargetValidationMetadatas).toBe(lookup);
    expect(storage.getTargetValidationMetadatas(Named, '', false, false)).toBe(
      storage.getTargetValidationMetadatas(Named, '', false, false),
    );
  });

  it('should still refuse a bad value, with the same errors, after good ones were served from the cache', async () => {
    const first = await errorsOf({ name: 'toolong' }, Named);
    for (let i = 0; i < 3; i++) await expect(validate({ name: 'ok' }, Named)).resolves.toEqual({ name: 'ok' });
    expect(await errorsOf({ name: 'toolong' }, Named)).toEqual(first);
    expect(first).toEqual([{ field: 'name', message: 'name must be shorter than or equal to 5 characters' }]);
    expect(await errorsOf({ name: 'ok', extra: 1 }, Named)).toEqual([
      { field: 'extra', message: 'property extra should not exist' },
    ]);
    expect(await errorsOf({}, Named)).toEqual([
      { field: 'name', message: 'name must be longer than or equal to 1 characters' },
      { field: 'name', message: 'name must be a string' },
    ]);
  });

  it('should apply a rule registered after the class was validated', async () => {
    class Late {
      @IsString()
      title!: string;
    }
    await expect(validate({ title: 'a' }, Late)).resolves.toEqual({ title: 'a' });
    // Unknown to the cached lookup: forbidden by the whitelist.
    expect(await errorsOf({ title: 'a', count: 'x' }, Late)).toEqual([
      { field: 'count', message: 'property count should not exist' },
    ]);
    IsOptional()(Late.prototype, 'count');
    IsInt()(Late.prototype, 'count');
    expect(await errorsOf({ title: 'a', count: 'x' }, Late)).toEqual([
      { field: 'count', message: 'count must be an integer number' },
    ]);
    await expect(validate({ title: 'a', count: 3 }, Late)).resolves.toEqual({ title: 'a', count: 3 });
  });

  it('should apply inherited rules to a subclass declared after its parent was validated', async () => {
    await expect(validate({ name: 'ok' }, Named)).resolves.toEqual({ name: 'ok' });
    class Child extends Named {
      @IsInt()
      age!: number;
    }
    expect(await errorsOf({ name: 'toolong', age: 1 }, Child)).toEqual([
      { field: 'name', message: 'name must be shorter than or equal to 5 characters' },
    ]);
    // A parent rule added later reaches the subclass too.
    IsOptional()(Named.prototype, 'nickname');
    IsString()(Named.prototype, 'nickname');
    expect(await errorsOf({ name: 'ok', age: 1, nickname: 2 }, Child)).toEqual([
      { field: 'nickname', message: 'nickname must be a string' },
    ]);
  });
});
