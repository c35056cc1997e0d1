import { AppException } from '../../core/exceptions/app.exception';

export enum MediaExceptionCode {
  /** Not multipart/form-data, or no file part. */
  NoFile = 'media-file-missing',
  /** The bytes are not an allowed type, or disagree with the file name / declared content type. */
  UnsupportedType = 'media-unsupported-type',
  /** Over the per-type size limit. */
  TooLarge = 'media-too-large',
  /** A post uses the media as its cover (DELETE without force). */
  InUse = 'media-in-use',
  /** Waiting for the virus scan, or the requested rendition is not made yet. */
  NotReady = 'media-not-ready',
  /** Infected or not confirmed clean: never served. */
  Quarantined = 'media-quarantined',
  /** The direct upload's object is not (yet) in storage. */
  UploadMissing = 'media-upload-missing',
  /** The direct upload expired before it was completed. */
  UploadExpired = 'media-upload-expired',
}

const STATUS: Record<MediaExceptionCode, number> = {
  [MediaExceptionCode.NoFile]: 400,
  [MediaExceptionCode.UnsupportedType]: 415,
  [MediaExceptionCode.TooLarge]: 413,
  [MediaExceptionCode.InUse]: 409,
  [MediaExceptionCode.NotReady]: 409,
  [MediaExceptionCode.Quarantined]: 409,
  [MediaExceptionCode.UploadMissing]: 409,
  [MediaExceptionCode.UploadExpired]: 410,
};

/**
 * Media errors. A missing, foreign or unreadable media is RbacException not-found, like every other
 * resource, so none can be told apart.
 */
export class MediaException extends AppException {
  constructor(code: MediaExceptionCode, message: string, extensions: Record<string, unknown> = {}) {
    super(code, STATUS[code], message, extensions);
  }
}
