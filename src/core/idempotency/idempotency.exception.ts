import { AppException } from '../exceptions/app.exception';
import { IDEMPOTENCY_KEY_HEADER } from './request-fingerprint';

export enum IdempotencyExceptionCode {
  InvalidKey = 'idempotency-key-invalid',
  InProgress = 'idempotency-key-in-progress',
  Reused = 'idempotency-key-reused',
}

/** Seconds a client is told to wait before retrying a key whose first request is still running. */
export const IN_PROGRESS_RETRY_AFTER_SECONDS = 1;

export class IdempotencyException extends AppException {
  static invalidKey(): IdempotencyException {
    const message = `The ${IDEMPOTENCY_KEY_HEADER} header must be 1 to 255 printable ASCII characters.`;
    return new IdempotencyException(IdempotencyExceptionCode.InvalidKey, 400, message, {
      errors: [{ field: IDEMPOTENCY_KEY_HEADER, message }],
    });
  }

  static inProgress(): IdempotencyException {
    return new IdempotencyException(
      IdempotencyExceptionCode.InProgress,
      409,
      `A request with this ${IDEMPOTENCY_KEY_HEADER} is still being processed; retry after Retry-After seconds.`,
      { retryAfterSeconds: IN_PROGRESS_RETRY_AFTER_SECONDS },
      { 'Retry-After': String(IN_PROGRESS_RETRY_AFTER_SECONDS) },
    );
  }

  static reused(): IdempotencyException {
    return new IdempotencyException(
      IdempotencyExceptionCode.Reused,
      422,
      `This ${IDEMPOTENCY_KEY_HEADER} was already used with a different request; use a new key for a new request.`,
    );
  }
}
