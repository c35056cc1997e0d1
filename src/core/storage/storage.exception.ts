import { AppException } from '../exceptions/app.exception';

export enum StorageExceptionCode {
  /** The link's token is not a token at all (wrong shape or encoding). */
  LinkMalformed = 'storage-link-malformed',
  /** Forged, expired, or made for the other operation; `reason` says which. */
  LinkInvalid = 'storage-link-invalid',
  /** The link is genuine but its object is gone (or was never uploaded). */
  ObjectNotFound = 'storage-object-not-found',
  /** Local links exist only while STORAGE_DRIVER=local; otherwise the routes are not there. */
  LocalLinksDisabled = 'not-found',
  UploadNotMultipart = 'storage-upload-not-multipart',
  UploadMissingFile = 'storage-upload-missing-file',
  UploadTooLarge = 'storage-upload-too-large',
  UploadTooSmall = 'storage-upload-too-small',
  RangeNotSatisfiable = 'range-not-satisfiable',
}

const STATUS: Record<StorageExceptionCode, number> = {
  [StorageExceptionCode.LinkMalformed]: 400,
  [StorageExceptionCode.LinkInvalid]: 403,
  [StorageExceptionCode.ObjectNotFound]: 404,
  [StorageExceptionCode.LocalLinksDisabled]: 404,
  [StorageExceptionCode.UploadNotMultipart]: 415,
  [StorageExceptionCode.UploadMissingFile]: 400,
  [StorageExceptionCode.UploadTooLarge]: 413,
  [StorageExceptionCode.UploadTooSmall]: 400,
  [StorageExceptionCode.RangeNotSatisfiable]: 416,
};

export type StorageLinkRejection = 'bad-signature' | 'expired' | 'wrong-operation';

/** Errors of the local driver's signed links, mapped to problem+json by the global filter. */
export class StorageException extends AppException {
  constructor(
    code: StorageExceptionCode,
    message: string,
    extensions: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(code, STATUS[code], message, extensions, headers);
  }

  static linkInvalid(reason: StorageLinkRejection, message: string): StorageException {
    return new StorageException(StorageExceptionCode.LinkInvalid, message, { reason });
  }
}
