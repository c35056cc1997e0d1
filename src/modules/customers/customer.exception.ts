import { AppException } from '../../core/exceptions/app.exception';

export enum CustomerExceptionCode {
  /** Another live customer of the organization has this email (create, update, restore). */
  EmailTaken = 'customer-email-taken',
  /** If-Match names a version other than the current one. */
  VersionMismatch = 'version-mismatch',
}

const STATUS: Record<CustomerExceptionCode, number> = {
  [CustomerExceptionCode.EmailTaken]: 409,
  [CustomerExceptionCode.VersionMismatch]: 412,
};

/**
 * Customer errors. A missing, deleted, foreign or unreadable customer is RbacException not-found (the same
 * answer PermissionService.assertAllowed gives outside the read scope), so none can be told apart.
 */
export class CustomerException extends AppException {
  constructor(code: CustomerExceptionCode, message: string, extensions: Record<string, unknown> = {}) {
    super(code, STATUS[code], message, extensions);
  }
}
