import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { ValidationException, type FieldError } from '../exceptions/app.exception';
import { cacheValidationMetadata } from './validation-metadata-cache';

/** Flattens nested class-validator errors into `{ field: 'address.city', message }` pairs. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

// With the u flag a surrogate pair is one code point: only unpaired surrogates match.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Where a request value holds a string (or key) with an unpaired UTF-16 surrogate, which JSON and query
 * strings can carry (`"\udfff"`). Such text is not Unicode: validator.js throws URIError on it (a 500) and
 * PostgreSQL would store U+FFFD instead. Iterative, so that deep bodies cannot overflow the stack.
 */
export function findLoneSurrogate(value: unknown): string | undefined {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [item, path] = stack.pop() as [unknown, string];
    if (typeof item === 'string') {
      if (LONE_SURROGATE.test(item)) return path || 'value';
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        const childPath = path ? `${path}.${key}` : key;
        if (LONE_SURROGATE.test(key)) return childPath;
        stack.push([child, childPath]);
      }
    }
  }
  return undefined;
}

class AtriumValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      const field = findLoneSurrogate(value);
      if (field) {
        throw new ValidationException([{ field, message: `${field} contains an unpaired UTF-16 surrogate` }]);
      }
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

/** The one global pipe: strips nothing silently (unknown fields are a 400) and converts types. */
export function createValidationPipe(): ValidationPipe {
  cacheValidationMetadata();
  return new AtriumValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    // Messages name the property but never echo the rejected value back.
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ValidationException(flattenValidationErrors(errors)),
  });
}
