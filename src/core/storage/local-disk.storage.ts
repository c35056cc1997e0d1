import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import type { AppConfig } from '../../config/app.config';
import { LocalLinkSigner, type LocalGetClaims, type LocalPutClaims } from './local-link-signer';
import {
  ObjectNotFoundError,
  ObjectStorage,
  type PresignGetOptions,
  type PresignPostOptions,
  type SignedPost,
  type SignedUrl,
  type StoredObject,
} from './object-storage';
import { StorageException, StorageExceptionCode } from './storage.exception';

/** Where LocalStorageController serves the signed links, below STORAGE_LOCAL_PUBLIC_URL. */
export const LOCAL_LINK_PATH = '/api/v1/storage/local';

/** A download link resolved to its object: what the route streams and the headers it signed. */
export interface LocalDownload {
  key: string;
  size: number;
  contentType: string;
  contentDisposition: string;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/**
 * Objects as files under STORAGE_LOCAL_DIR (development and single-machine setups). Signed links are HMAC
 * tokens served by LocalStorageController, so clients use the same presigned-URL flow as with S3.
 */
export class LocalDiskStorage extends ObjectStorage {
  readonly driver = 'local';
  private readonly root: string;
  private readonly signer: LocalLinkSigner;

  constructor(
    private readonly config: AppConfig['storage'],
    private readonly nowMs: () => number = Date.now,
  ) {
    super();
    this.root = resolve(config.localDir);
    this.signer = new LocalLinkSigner(config.signingSecret, nowMs);
  }

  async ensureReady(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    // Fail at start, not at the first upload, when the folder is not writable.
    const probe = join(this.root, `.ready-${randomUUID()}`);
    await (await open(probe, 'wx')).close();
    await rm(probe, { force: true });
  }

  async put(key: string, body: Readable, _contentType: string): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // Written beside the target and renamed into place: readers see the whole object or none, and a failed
    // write leaves no partial file under the key.
    const temp = join(dirname(path), `.${basename(path)}.${randomUUID()}.partial`);
    try {
      await pipelineAsync(body, createWriteStream(temp, { flags: 'wx' }));
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const path = this.pathOf(key);
    try {
      const handle = await open(path, 'r');
      // A key that names a folder (a prefix of other keys) is no object, as in S3.
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        throw new ObjectNotFoundError(key);
      }
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(key);
      throw error;
    }
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { size: info.size, lastModified: new Date(info.mtimeMs) } : null;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async remove(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (error) {
      if (isNotFound(error)) return;
      // A key that is only a prefix of other keys (a folder) has no object to remove.
      const info = await stat(path).catch(() => null);
      if (!info?.isDirectory()) throw error;
    }
  }

  presignGet(key: string, options: PresignGetOptions): Promise<SignedUrl> {
    // An executor turns a thrown validation error into a rejection, as with the other drivers.
    return new Promise((done) => {
      this.pathOf(key);
      const exp = this.expiry(options.expiresInSeconds);
      const token = this.signer.sign({
        op: 'get',
        key,
        exp,
        contentType: options.contentType,
        contentDisposition: options.contentDisposition,
      });
      done({ url: this.linkUrl(token), expiresAt: new Date(exp * 1000) });
    });
  }

  presignPost(key: string, options: PresignPostOptions): Promise<SignedPost> {
    return new Promise((done) => {
      this.pathOf(key);
      if (!Number.isInteger(options.minBytes) || options.minBytes < 0 || options.maxBytes < options.minBytes) {
        throw new Error(`Invalid size range ${options.minBytes}..${options.maxBytes}`);
      }
      const exp = this.expiry(options.expiresInSeconds);
      const token = this.signer.sign({ op: 'put', key, exp, minBytes: options.minBytes, maxBytes: options.maxBytes });
      done({ url: this.linkUrl(token), fields: {}, expiresAt: new Date(exp * 1000) });
    });
  }

  /** The object a download link names, with the headers it signed; 400/403/404 StorageException otherwise. */
  async resolveDownload(token: string): Promise<LocalDownload> {
    const claims: LocalGetClaims = this.signer.verify(token, 'get');
    const stored = await this.stat(claims.key);
    if (!stored) throw new StorageException(StorageExceptionCode.ObjectNotFound, 'The object no longer exists.');
    return {
      key: claims.key,
      size: stored.size,
      contentType: claims.contentType,
      contentDisposition: claims.contentDisposition,
    };
  }

  /** The claims of an upload link; 400/403 StorageException when it is not a genuine, live upload link. */
  verifyUploadLink(token: string): LocalPutClaims {
    return this.signer.verify(token, 'put');
  }

  /**
   * Stores `body` under the key an upload link names, like S3 does for a presigned POST: a body outside the
   * signed size range is refused (413 above, 400 below) and leaves nothing behind.
   */
  async receiveUpload(claims: LocalPutClaims, body: Readable, contentType: string): Promise<void> {
    // The callback form returns the guard; an error of either stream destroys both with it, and put() rejects
    // with that error (so the callback has nothing left to do).
    const guarded = pipeline(body, new SizeRangeGuard(claims.minBytes, claims.maxBytes), () => undefined);
    await this.put(claims.key, guarded, contentType);
  }

  private expiry(expiresInSeconds: number): number {
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1) {
      throw new Error(`expiresInSeconds must be a positive integer, got ${expiresInSeconds}`);
    }
    return Math.floor(this.nowMs() / 1000) + expiresInSeconds;
  }

  private linkUrl(token: string): string {
    return `${this.config.localPublicUrl}${LOCAL_LINK_PATH}/${token}`;
  }

  /** Keys come from the app, but a key must never reach outside the folder whatever it holds. */
  private pathOf(key: string): string {
    const segments = key.split('/');
    const unsafe =
      !key ||
      key.includes('..') ||
      key.includes('\\') ||
      key.includes('\0') ||
      key.startsWith('/') ||
      segments.some((segment) => segment === '' || segment === '.');
    const path = join(this.root, ...segments);
    if (unsafe || !path.startsWith(this.root + sep)) throw new Error(`Unsafe object key: ${JSON.stringify(key)}`);
    return path;
  }
}

/** Passes bytes through while the running total stays within [min, max]; errors as soon as it cannot. */
class SizeRangeGuard extends Transform {
  private total = 0;

  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.max) {
      callback(
        new StorageException(StorageExceptionCode.UploadTooLarge, `The file exceeds the allowed ${this.max} bytes.`),
      );
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.total < this.min) {
      callback(
        new StorageException(StorageExceptionCode.UploadTooSmall, `The file is smaller than ${this.min} bytes.`),
      );
      return;
    }
    callback();
  }
}
