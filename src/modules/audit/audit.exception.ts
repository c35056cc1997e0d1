import { AppException } from '../../core/exceptions/app.exception';

export enum AuditExceptionCode {
  AuditLogNotFound = 'audit-log-not-found',
}

const STATUS: Record<AuditExceptionCode, number> = {
  [AuditExceptionCode.AuditLogNotFound]: 404,
};

export class AuditException extends AppException {
  constructor(code: AuditExceptionCode, message: string) {
    super(code, STATUS[code], message);
  }
}
