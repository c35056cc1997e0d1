import { AppException } from '../../core/exceptions/app.exception';

export enum UserExceptionCode {
  EmailTaken = 'email-taken',
  CannotDisableSelf = 'cannot-disable-self',
  VersionMismatch = 'version-mismatch',
}

const STATUS: Record<UserExceptionCode, number> = {
  [UserExceptionCode.EmailTaken]: 409,
  [UserExceptionCode.CannotDisableSelf]: 409,
  [UserExceptionCode.VersionMismatch]: 412,
};

/** User administration errors. A missing or foreign user is RbacException not-found, like one out of scope. */
export class UserException extends AppException {
  constructor(code: UserExceptionCode, message: string, extensions: Record<string, unknown> = {}) {
    super(code, STATUS[code], message, extensions);
  }
}
