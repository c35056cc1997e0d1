import { applyDecorators } from '@nestjs/common';
import { ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { statusTitle } from './problem';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: the problem names each offending field',
  401: 'Missing or invalid credentials',
  403: 'Authenticated but not allowed',
  404: 'No such resource (or not visible to the caller)',
  409: 'Conflicts with the current state',
  412: 'If-Match does not match the current version',
  413: 'Body too large',
  415: 'Unsupported media type',
  422: 'Well-formed but not processable',
  429: 'Rate limited; see Retry-After',
  503: 'Temporarily unavailable; retry later',
};

/** Documents error responses as problem+json. 400, 413, 415, 429 and 500 can happen on any route. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? statusTitle(status),
        content: { 'application/problem+json': { schema: { $ref: getSchemaPath('ProblemDocumentDto') } } },
      }),
    ),
  );
}
