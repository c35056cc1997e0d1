import { Logger } from '@nestjs/common';
import { Client, S3Error, type ClientOptions } from 'minio';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { AppConfig } from '../../config/app.config';
import {
  ObjectNotFoundError,
  ObjectStorage,
  type PresignGetOptions,
  type PresignPostOptions,
  type SignedPost,
  type SignedUrl,
  type StoredObject,
} from './object-storage';

type MinioOptions = AppConfig['storage']['minio'];

const MISSING_OBJECT = new Set(['NoSuchKey', 'NotFound']);

function isMissing(error: unknown): boolean {
  return error instanceof S3Error && MISSING_OBJECT.has(error.code ?? '');
}

/**
 * The minio client for presigning under MINIO_PUBLIC_URL (the host clients reach, which the signature
 * covers). Presigning is local computation only as long as the client knows its region: without one it
 * would ask the (public, maybe unreachable) host for the bucket's location first.
 */
function publicClientOptions(publicUrl: string, options: MinioOptions): ClientOptions {
  const url = new URL(publicUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`MINIO_PUBLIC_URL must be an http(s) URL, got ${publicUrl}`);
  }
  if (url.pathname !== '/' || url.search || url.username) {
    throw new Error(`MINIO_PUBLIC_URL must be a bare origin (S3 signs the path), got ${publicUrl}`);
  }
  const useSSL = url.protocol === 'https:';
  return {
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: options.accessKey,
    secretKey: options.secretKey,
    region: options.region,
    pathStyle: true,
  };
}

/**
 * Yields `body` as parts of exactly `size` bytes and then the remainder (an empty part only for an empty
 * body), all views of ONE buffer filled again for every part: the for-await pauses the body while a part
 * uploads, so memory stays at one part whatever the file, and no part-sized garbage is made per part.
 */
async function* partsOf(body: Readable, size: number): AsyncGenerator<Buffer> {
  const part = Buffer.allocUnsafe(size);
  let filled = 0;
  let yielded = false;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    while (data.length) {
      const take = Math.min(size - filled, data.length);
      data.copy(part, filled, 0, take);
      filled += take;
      data = data.subarray(take);
      if (filled === size) {
        yield part;
        yielded = true;
        filled = 0;
      }
    }
  }
  if (filled > 0 || !yielded) yield part.subarray(0, filled);
}

/** Objects in one MinIO/S3 bucket (MINIO_*). Presigned links are S3 query/POST-policy signatures. */
export class MinioStorage extends ObjectStorage {
  readonly driver = 'minio';
  private readonly logger = new Logger(MinioStorage.name);
  private readonly client: Client;
  /** Signs links for the public host; never sends a request. */
  private readonly presigner: Client;

  constructor(private readonly options: MinioOptions) {
    super();
    // The region is set so no call asks the server for the bucket's location (one round trip saved each).
    this.client = new Client({
      endPoint: options.endPoint,
      port: options.port,
      useSSL: options.useSSL,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: options.region,
      partSize: options.partSizeBytes,
      pathStyle: true,
    });
    this.presigner = options.publicUrl ? new Client(publicClientOptions(options.publicUrl, options)) : this.client;
  }

  private get bucket(): string {
    return this.options.bucket;
  }

  async ensureReady(): Promise<void> {
    if (await this.client.bucketExists(this.bucket)) return;
    try {
      await this.client.makeBucket(this.bucket, this.options.region);
    } catch (error) {
      // Another instance starting at the same moment may have created it.
      if (!(error instanceof S3Error && error.code === 'BucketAlreadyOwnedByYou')) throw error;
    }
  }

  /**
   * Our own multipart upload instead of client.putObject: for a stream of unknown size the client never
   * aborts a failed upload (and hangs when the body errors), and it first lists the bucket's incomplete
   * uploads to resume one, which plain S3 implementations do not all support.
   */
  async put(key: string, body: Readable, contentType: string): Promise<void> {
    const headers = { 'Content-Type': contentType };
    const partSize = this.options.partSizeBytes;
    let uploadId: string | undefined;
    let completing = false;
    try {
      const etags: { part: number; etag: string }[] = [];
      for await (const data of partsOf(body, partSize)) {
        if (!uploadId && data.length < partSize) {
          // The whole object fits in one part: a single PUT.
          await this.client.putObject(this.bucket, key, data, data.length, headers);
          return;
        }
        uploadId ??= await this.client.initiateNewMultipartUpload(this.bucket, key, headers);
        const part = etags.length + 1;
        const { etag } = await this.client.uploadPart(
          {
            bucketName: this.bucket,
            objectName: key,
            uploadID: uploadId,
            partNumber: part,
            // Over plain HTTP the client signs each part's SHA-256, which the server checks; only over TLS
            // (unsigned payload) does the part need an MD5 of its own.
            headers: this.options.useSSL ? { 'Content-MD5': createHash('md5').update(data).digest('base64') } : {},
          },
          data,
        );
        etags.push({ part, etag });
      }
      completing = true;
      await this.client.completeMultipartUpload(this.bucket, key, uploadId!, etags);
    } catch (error) {
      if (uploadId) await this.discard(key, uploadId, completing);
      throw error;
    }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      return range
        ? await this.client.getPartialObject(this.bucket, key, range.start, range.end - range.start + 1)
        : await this.client.getObject(this.bucket, key);
    } catch (error) {
      if (isMissing(error)) throw new ObjectNotFoundError(key);
      throw error;
    }
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const info = await this.client.statObject(this.bucket, key);
      return { size: info.size, lastModified: info.lastModified };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async remove(key: string): Promise<void> {
    try {
      await this.client.removeObject(this.bucket, key);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  async presignGet(key: string, options: PresignGetOptions): Promise<SignedUrl> {
    assertExpiry(options.expiresInSeconds);
    const signedAt = new Date();
    // Always an explicit expiry: the client's default is S3's maximum of 7 days.
    const url = await this.presigner.presignedGetObject(
      this.bucket,
      key,
      options.expiresInSeconds,
      {
        'response-content-type': options.contentType,
        'response-content-disposition': options.contentDisposition,
      },
      signedAt,
    );
    return { url, expiresAt: new Date(signedAt.getTime() + options.expiresInSeconds * 1000) };
  }

  async presignPost(key: string, options: PresignPostOptions): Promise<SignedPost> {
    assertExpiry(options.expiresInSeconds);
    const expiresAt = new Date(Date.now() + options.expiresInSeconds * 1000);
    const policy = this.presigner.newPostPolicy();
    policy.setBucket(this.bucket);
    policy.setKey(key);
    policy.setContentLengthRange(options.minBytes, options.maxBytes);
    policy.setExpires(expiresAt);
    const { postURL, formData } = await this.presigner.presignedPostPolicy(policy);
    return { url: postURL, fields: formData, expiresAt };
  }

  /** Best effort after a failed put: the caller gets the put's error, not a cleanup error. */
  private async discard(key: string, uploadId: string, completing: boolean): Promise<void> {
    try {
      await this.client.abortMultipartUpload(this.bucket, key, uploadId);
    } catch (error) {
      this.logger.warn(`Could not abort the multipart upload of ${key}: ${(error as Error).message}`);
    }
    // A completion that failed on the way back may still have created the object.
    if (completing) await this.remove(key).catch(() => undefined);
  }
}

function assertExpiry(expiresInSeconds: number): void {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > 7 * 24 * 3600) {
    throw new Error(`expiresInSeconds must be an integer from 1 to 604800 (S3's limit), got ${expiresInSeconds}`);
  }
}
