import { AppException } from '../exceptions/app.exception';

export enum QueueExceptionCode {
  /** Redis (the queues' store) is unreachable, or did not take the job within QUEUE_ENQUEUE_TIMEOUT_MS. */
  Unavailable = 'queue-unavailable',
}

/** Seconds a client is told to wait before retrying a request whose job could not be queued. */
const RETRY_AFTER_SECONDS = 5;

export class QueueException extends AppException {
  static unavailable(queue: string): QueueException {
    return new QueueException(
      QueueExceptionCode.Unavailable,
      503,
      `Background work cannot be queued right now (${queue}); nothing was changed, try again shortly.`,
      { retryAfterSeconds: RETRY_AFTER_SECONDS },
      { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    );
  }
}
