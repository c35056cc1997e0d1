import { AppException } from '../../core/exceptions/app.exception';

export enum SystemExceptionCode {
  PingNotFound = 'ping-not-found',
}

const STATUS: Record<SystemExceptionCode, number> = {
  [SystemExceptionCode.PingNotFound]: 404,
};

export class SystemException extends AppException {
  constructor(code: SystemExceptionCode, message: string) {
    super(code, STATUS[code], message);
  }
}
