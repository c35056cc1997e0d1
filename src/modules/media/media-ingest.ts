import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { sanitizeFilename } from '../../core/files/content-disposition';
import { describeDisguise, SNIFF_BYTES, sniffType } from '../../core/files/detect-type';
import { MEDIA_TYPE_INFO, MEDIA_TYPES, type MediaType } from '../../core/files/media-types';
import { metadataStripper } from '../../core/files/metadata-stripper';
import { YoungGenerationPacer } from '../../core/memory/young-generation';
import { inspectOoxml } from '../../core/files/ooxml-inspector';
import { ObjectStorage } from '../../core/storage/object-storage';
import { MediaException, MediaExceptionCode } from './media.exception';

/** A file arriving: its bytes and what the client claims about it. */
export interface IngestSource {
  stream: Readable;
  filename: string | undefined;
  contentType: string | undefined;
}

export interface Ingested {
  type: MediaType;
  size: number;
  sha256: string;
  /** Sanitized, for display and Content-Disposition. */
  filename: string;
}

/** Client content types that claim nothing. */
const NEUTRAL_CONTENT_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

class TooLargeError extends Error {}

function unsupported(detail: string, extensions: Record<string, unknown> = {}): MediaException {
  return new MediaException(MediaExceptionCode.UnsupportedType, detail, {
    field: 'file',
    allowed: [...MEDIA_TYPES],
    ...extensions,
  });
}

function tooLarge(type: MediaType, maxBytes: number): MediaException {
  return new MediaException(MediaExceptionCode.TooLarge, `A ${type} file may have at most ${maxBytes} bytes.`, {
    field: 'file',
    mediaType: type,
    maxBytes,
  });
}

/** Young-generation collections during an upload: one per this many bytes (see collectYoungGeneration). */
const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;

/**
 * Counts and hashes what passes; fails as soon as more than `maxBytes` went through. Every 8 MB it has the
 * young generation collected, so the dead request chunks behind it are freed as the upload streams.
 */
class Meter extends Transform {
  size = 0;
  private readonly hash = createHash('sha256');
  private readonly pacer = new YoungGenerationPacer(COLLECT_EVERY_BYTES);

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return done(new TooLargeError());
    this.hash.update(chunk);
    this.pacer.count(chunk.length);
    done(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Reads the first `bytes` of `source` and returns them with a stream of everything (head included). */
async function splitHead(source: Readable, bytes: number): Promise<{ head: Buffer; body: Readable }> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    chunks.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(chunks);
  async function* everything(): AsyncGenerator<Buffer> {
    yield head;
    if (done) return;
    // Leaving early (the consumer failed) runs iterator.return(), which destroys the source.
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return { head, body: Readable.from(everything(), { objectMode: false }) };
}

/**
 * The one way bytes become media, for multipart uploads and promoted direct uploads alike: the type comes
 * from the bytes (magic numbers; for docx/xlsx the archive's content, which also rules out zip bombs) and
 * must agree with the file name and the claimed content type; the per-type cap is enforced while streaming;
 * JPEG/PNG metadata (EXIF, GPS, XMP, text chunks) is stripped on the way into storage; size and SHA-256 are
 * of the stored bytes. Nothing is held whole in memory. On any refusal nothing remains under `key`.
 */
@Injectable()
export class MediaIngest {
  constructor(
    private readonly storage: ObjectStorage,
    private readonly config: AppConfig,
  ) {}

  /** The type a file name's extension names; undefined without a (known) extension. */
  typeOfName(filename: string | undefined): MediaType | undefined {
    const extension = extname(filename ?? '')
      .slice(1)
      .toLowerCase();
    if (!extension) return undefined;
    return MEDIA_TYPES.find((type) => MEDIA_TYPE_INFO[type].extensions.includes(extension));
  }

  async ingest(source: IngestSource, key: string, expected?: MediaType): Promise<Ingested> {
    const { head, body } = await splitHead(source.stream, SNIFF_BYTES);
    if (head.length === 0) throw new MediaException(MediaExceptionCode.NoFile, 'The file is empty.', { field: 'file' });
    const sniffed = sniffType(head);
    if (sniffed.kind === 'unknown') {
      body.destroy();
      throw unsupported(`The file is ${describeDisguise(sniffed.label)}; accepted are ${MEDIA_TYPES.join(', ')}.`);
    }
    const candidates: MediaType[] = sniffed.kind === 'zip' ? ['docx', 'xlsx'] : [sniffed.kind];
    const claimed = this.claimedTypes(source, expected);
    const possible = candidates.filter((type) => claimed.every((allowed) => allowed.includes(type)));
    if (!possible.length) {
      body.destroy();
      throw unsupported(`The file's content (${candidates.join(' or ')}) does not match its name or content type.`, {
        detected: sniffed.kind,
      });
    }
    const maxBytes = Math.max(...possible.map((type) => this.config.media.maxBytes[type]));
    const { size, sha256 } = await this.store(body, key, possible, maxBytes);

    let type = possible[0];
    if (sniffed.kind === 'zip') type = await this.ooxmlType(key, size, possible);
    if (size > this.config.media.maxBytes[type]) {
      await this.storage.remove(key);
      throw tooLarge(type, this.config.media.maxBytes[type]);
    }
    return { type, size, sha256, filename: sanitizeFilename(source.filename, MEDIA_TYPE_INFO[type].extensions[0]) };
  }

  /** Each claim (extension, content type, expected type) as the list of types it allows. */
  private claimedTypes(source: IngestSource, expected: MediaType | undefined): MediaType[][] {
    const claims: MediaType[][] = [];
    if (expected) claims.push([expected]);
    const extension = extname(source.filename ?? '')
      .slice(1)
      .toLowerCase();
    if (extension) {
      const byName = this.typeOfName(source.filename);
      claims.push(byName ? [byName] : []);
    }
    const contentType = (source.contentType ?? '').split(';')[0].trim().toLowerCase();
    if (!NEUTRAL_CONTENT_TYPES.has(contentType)) {
      claims.push(MEDIA_TYPES.filter((type) => MEDIA_TYPE_INFO[type].mime === contentType));
    }
    return claims;
  }

  private async store(
    body: Readable,
    key: string,
    types: MediaType[],
    maxBytes: number,
  ): Promise<{ size: number; sha256: string }> {
    const type = types[0];
    const meter = new Meter(maxBytes);
    const out = new PassThrough();
    const stages: NodeJS.ReadWriteStream[] = [];
    let stripError: Error | undefined;
    if (type === 'jpg' || type === 'png' || type === 'gif') {
      const stripper = metadataStripper(type);
      stripper.once('error', (error: Error) => (stripError = error));
      stages.push(stripper);
    }
    const written = this.storage.put(key, out, MEDIA_TYPE_INFO[type].mime);
    const [piped, stored] = await Promise.allSettled([pipeline([body, ...stages, meter, out]), written]);
    if (piped.status === 'fulfilled' && stored.status === 'fulfilled')
      return { size: meter.size, sha256: meter.digest() };

    body.destroy();
    await this.storage.remove(key).catch(() => undefined);
    const error: unknown = piped.status === 'rejected' ? piped.reason : (stored as PromiseRejectedResult).reason;
    if (error instanceof TooLargeError) throw tooLarge(type, maxBytes);
    if (stripError) throw unsupported(`The file is not a valid ${type} image: ${stripError.message}.`);
    throw error;
  }

  private async ooxmlType(key: string, size: number, possible: MediaType[]): Promise<MediaType> {
    const read = async (start: number, end: number): Promise<Buffer> => {
      const chunks: Buffer[] = [];
      for await (const chunk of await this.storage.get(key, { start, end })) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };
    const verdict = await inspectOoxml(read, size, this.config.media.zip).catch((error: unknown) => {
      void this.storage.remove(key);
      throw error;
    });
    if (!verdict.ok || !possible.includes(verdict.type)) {
      await this.storage.remove(key);
      throw unsupported(
        verdict.ok
          ? `The file is a ${verdict.type} document, which does not match its name or content type.`
          : `The file is not an accepted document: ${verdict.reason}.`,
      );
    }
    return verdict.type;
  }
}
