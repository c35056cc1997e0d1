import { AppException } from '../../core/exceptions/app.exception';

export enum OrganizationExceptionCode {
  NotFound = 'organization-not-found',
}

const STATUS: Record<OrganizationExceptionCode, number> = {
  [OrganizationExceptionCode.NotFound]: 404,
};

export class OrganizationException extends AppException {
  constructor(code: OrganizationExceptionCode, message: string) {
    super(code, STATUS[code], message);
  }
}
