import { applyDecorators, SetMetadata } from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { ApiHeader, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { IN_PROGRESS_RETRY_AFTER_SECONDS } from './idempotency.exception';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from './request-fingerprint';

/** Metadata set on every @Idempotent handler (for route-table checks); the interceptor does not read it. */
export const IDEMPOTENT = 'atrium:idempotent';

const PROBLEM = { 'application/problem+json': { schema: { $ref: getSchemaPath('ProblemDocumentDto') } } };

/**
 * Puts IdempotencyInterceptor first among the handler's interceptors, wherever @Idempotent stands among
 * the decorators (@UseInterceptors appends, and decorators apply bottom-up): a replay must not reach the
 * route's other interceptors (e.g. @Audited would record the create again).
 */
function UseIdempotencyInterceptorFirst(): MethodDecorator {
  return (_target, _key, descriptor) => {
    const current = (Reflect.getMetadata(INTERCEPTORS_METADATA, descriptor.value as object) ?? []) as unknown[];
    Reflect.defineMetadata(INTERCEPTORS_METADATA, [IdempotencyInterceptor, ...current], descriptor.value as object);
    return descriptor;
  };
}

/**
 * A create (or other non-idempotent) route that clients may retry safely: a request with an
 * `Idempotency-Key` header is executed once per key, and retries get the first response back. See
 * IdempotencyInterceptor, which runs outermost of the route's interceptors (a replay skips @Audited's), in
 * whichever order the decorators are written.
 *
 * Documents the header and the 400/409/422 problems. The 409 and 422 descriptions cover the route's
 * other conflicts too, since OpenAPI keeps one description per status.
 */
export function Idempotent(): MethodDecorator {
  return applyDecorators(
    SetMetadata(IDEMPOTENT, true),
    UseIdempotencyInterceptorFirst(),
    ApiHeader({
      name: IDEMPOTENCY_KEY_HEADER,
      required: false,
      description:
        'Makes the request safe to retry: with the same key and the same body, a retry returns the first ' +
        `response (status and body, plus \`${IDEMPOTENT_REPLAYED_HEADER}: true\`) instead of acting again. ` +
        'Keys are per user and route and are remembered for IDEMPOTENCY_TTL_SECONDS (24 h by default); ' +
        'a failed request does not use its key up. 1 to 255 printable ASCII characters, e.g. a UUID.',
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
      example: '7b0c2a4e-3f7d-4a55-9a4e-2f1c9d3b8e10',
    }),
    ApiResponse({
      status: 400,
      description: `Invalid request (including a malformed ${IDEMPOTENCY_KEY_HEADER}): the problem names each offending field`,
      content: PROBLEM,
    }),
    ApiResponse({
      status: 409,
      description:
        'Conflicts with the current state, or `idempotency-key-in-progress`: a request with the same ' +
        'Idempotency-Key is still running; retry after Retry-After seconds',
      headers: {
        'Retry-After': {
          description: 'Seconds to wait before retrying (idempotency-key-in-progress)',
          schema: { type: 'integer', example: IN_PROGRESS_RETRY_AFTER_SECONDS },
        },
      },
      content: PROBLEM,
    }),
    ApiResponse({
      status: 422,
      description:
        'Not processable, or `idempotency-key-reused`: the Idempotency-Key was already used with another body',
      content: PROBLEM,
    }),
  );
}
