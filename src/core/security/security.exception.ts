import { AppException } from '../exceptions/app.exception';

export enum SecurityExceptionCode {
  /** More password checks are waiting for a bcrypt slot than BCRYPT_QUEUE_MAX allows. */
  PasswordCheckBusy = 'password-check-busy',
}

export class SecurityException extends AppException {
  static passwordCheckBusy(retryAfterSeconds: number): SecurityException {
    return new SecurityException(
      SecurityExceptionCode.PasswordCheckBusy,
      503,
      'Too many password checks are waiting right now; nothing was checked or counted, try again shortly.',
      { retryAfterSeconds },
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
}
