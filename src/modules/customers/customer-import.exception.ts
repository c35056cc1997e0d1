import { AppException } from '../../core/exceptions/app.exception';

export enum CustomerImportExceptionCode {
  ImportNotFound = 'customer-import-not-found',
  NotCsv = 'unsupported-media-type',
  TooLarge = 'payload-too-large',
}

const STATUS: Record<CustomerImportExceptionCode, number> = {
  [CustomerImportExceptionCode.ImportNotFound]: 404,
  [CustomerImportExceptionCode.NotCsv]: 415,
  [CustomerImportExceptionCode.TooLarge]: 413,
};

/** Errors of CSV imports; a malformed file or header is a ValidationException naming `csv` or `header`. */
export class CustomerImportException extends AppException {
  constructor(code: CustomerImportExceptionCode, message: string) {
    super(code, STATUS[code], message);
  }
}
