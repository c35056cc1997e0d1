import { Transform, type TransformCallback } from 'node:stream';

/**
 * Removes privacy metadata (GPS position, camera serials, author names, comments, edit history) from images
 * while they stream into storage. It parses just the container, never the pixels, in constant memory and for
 * any chunking of the input; input the parser does not understand fails the stream, and the upload with it.
 *
 * JPEG: keeps APP0 (JFIF), APP2 only when it holds the ICC profile, APP14 (Adobe) and every non-APP segment;
 * drops every other APPn (APP1 Exif/XMP, APP2 MPF/FlashPix, APP3-APP11 vendor blocks, JUMBF/C2PA, APP12,
 * APP13 IPTC/Photoshop, APP15) and COM. Exif is replaced by a minimal Exif holding only the orientation, as
 * phones record rotation there instead of rotating the pixels. Data after EOI (appended previews, which carry
 * their own Exif, or anything smuggled behind the image) is dropped.
 * PNG: drops eXIf, tEXt, zTXt, iTXt and tIME chunks and anything after IEND; chunk data is streamed.
 * GIF: drops comment extensions and XMP application extensions and anything after the trailer.
 */
export function metadataStripper(type: 'jpg' | 'png' | 'gif'): Transform {
  switch (type) {
    case 'jpg':
      return new StripStream('JPEG', jpeg);
    case 'png':
      return new StripStream('PNG', png);
    case 'gif':
      return new StripStream('GIF', gif);
  }
}

type Emit = (bytes: Buffer | readonly number[]) => void;

/** What the parser expects next; `then` returns the step after it. */
type Step =
  | { op: 'take'; bytes: number; then: (taken: Buffer) => Step }
  | { op: 'copy' | 'skip'; bytes: number; then: () => Step }
  /** Copies up to the next `byte`, which is consumed but not copied. */
  | { op: 'copyUntil'; byte: number; then: () => Step }
  /** The image has ended; whatever follows is dropped. */
  | { op: 'end' };

const take = (bytes: number, then: (taken: Buffer) => Step): Step => ({ op: 'take', bytes, then });
const copy = (bytes: number, then: () => Step): Step => ({ op: 'copy', bytes, then });
const skip = (bytes: number, then: () => Step): Step => ({ op: 'skip', bytes, then });
const copyUntil = (byte: number, then: () => Step): Step => ({ op: 'copyUntil', byte, then });
const END: Step = { op: 'end' };

class StripStream extends Transform {
  private step: Step = END;
  /** Bytes still to take, copy or skip in the current step. */
  private left = 0;
  private taken: Buffer[] = [];
  private empty = true;

  constructor(
    private readonly format: string,
    start: (emit: Emit) => Step,
  ) {
    super();
    this.enter(start((bytes) => this.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes))));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (error) {
      callback(error instanceof Error ? error : new Error(String(error)));
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.step.op === 'end') return callback();
    callback(new Error(this.empty ? `the ${this.format} is empty` : `the ${this.format} is truncated`));
  }

  private consume(chunk: Buffer): void {
    if (chunk.length > 0) this.empty = false;
    let at = 0;
    while (at < chunk.length) {
      const step = this.step;
      switch (step.op) {
        case 'take': {
          // Copied: the writer may reuse its buffer before the rest of what is taken arrives.
          const piece = Buffer.from(chunk.subarray(at, at + this.left));
          this.taken.push(piece);
          at += piece.length;
          this.left -= piece.length;
          if (this.left === 0) {
            const taken = this.taken.length === 1 ? this.taken[0] : Buffer.concat(this.taken);
            this.taken = [];
            this.enter(step.then(taken));
          }
          break;
        }
        case 'copy':
        case 'skip': {
          const length = Math.min(this.left, chunk.length - at);
          if (step.op === 'copy') this.push(chunk.subarray(at, at + length));
          at += length;
          this.left -= length;
          if (this.left === 0) this.enter(step.then());
          break;
        }
        case 'copyUntil': {
          const found = chunk.indexOf(step.byte, at);
          const stop = found < 0 ? chunk.length : found;
          if (stop > at) this.push(chunk.subarray(at, stop));
          at = found < 0 ? stop : stop + 1;
          if (found >= 0) this.enter(step.then());
          break;
        }
        case 'end':
          at = chunk.length;
          break;
      }
    }
  }

  // Zero-length steps complete at once, so that `left` is positive whenever input is awaited.
  private enter(next: Step): void {
    let step = next;
    while ((step.op === 'take' || step.op === 'copy' || step.op === 'skip') && step.bytes === 0) {
      step = step.op === 'take' ? step.then(Buffer.alloc(0)) : step.then();
    }
    this.step = step;
    this.left = step.op === 'take' || step.op === 'copy' || step.op === 'skip' ? step.bytes : 0;
  }
}

const APP0 = 0xe0;
const APP1 = 0xe1;
const APP2 = 0xe2;
const APP14 = 0xee;
const APP15 = 0xef;
const COM = 0xfe;
const SOS = 0xda;
const EOI = 0xd9;
const ICC_PROFILE = Buffer.from('ICC_PROFILE\0', 'latin1');

function jpeg(emit: Emit): Step {
  let scanned = false;
  let orientationWritten = false;

  const marker = (): Step =>
    take(1, ([byte]) => {
      if (byte !== 0xff) throw new Error('the JPEG has data where a marker was expected');
      return markerCode();
    });
  const markerCode = (): Step => take(1, ([code]) => onMarker(code));

  const onMarker = (code: number): Step => {
    // 0xFF before a marker code is padding.
    if (code === 0xff) return markerCode();
    if (code === EOI) {
      if (!scanned) throw new Error('the JPEG ends before its image data');
      emit([0xff, EOI]);
      return END;
    }
    if (code === 0x00 || code === 0xd8) throw new Error(`the JPEG has an unexpected marker 0x${hex(code)}`);
    // Markers without a length: TEM and the restart markers.
    if (code === 0x01 || (code >= 0xd0 && code <= 0xd7)) {
      emit([0xff, code]);
      return scanned ? entropy() : marker();
    }
    return take(2, (length) => segment(code, length));
  };

  const segment = (code: number, length: Buffer): Step => {
    const size = length.readUInt16BE(0);
    if (size < 2) throw new Error('the JPEG has a segment with an invalid length');
    const header = Buffer.from([0xff, code, length[0], length[1]]);
    const payload = size - 2;
    if (code === SOS) {
      scanned = true;
      emit(header);
      return copy(payload, entropy);
    }
    if (code === APP1) {
      return take(payload, (data) => {
        const orientation = exifOrientation(data);
        if (orientation !== undefined && !orientationWritten) {
          orientationWritten = true;
          emit(orientationSegment(orientation));
        }
        return marker();
      });
    }
    if (code === APP2) {
      return take(payload, (data) => {
        if (data.subarray(0, ICC_PROFILE.length).equals(ICC_PROFILE)) emit(Buffer.concat([header, data]));
        return marker();
      });
    }
    const isApp = code >= APP0 && code <= APP15;
    if ((isApp && code !== APP0 && code !== APP14) || code === COM) return skip(payload, marker);
    emit(header);
    return copy(payload, marker);
  };

  // Entropy-coded data escapes 0xFF as FF 00, so any other FF is a restart marker or a real marker (the next
  // scan of a progressive image, its tables, or EOI).
  const entropy = (): Step => copyUntil(0xff, afterFF);
  const afterFF = (): Step =>
    take(1, ([byte]) => {
      if (byte === 0x00 || (byte >= 0xd0 && byte <= 0xd7)) {
        emit([0xff, byte]);
        return entropy();
      }
      if (byte === 0xff) return afterFF();
      return onMarker(byte);
    });

  return take(2, (start) => {
    if (start[0] !== 0xff || start[1] !== 0xd8) throw new Error('the JPEG does not start with SOI');
    emit(start);
    return marker();
  });
}

/** The Orientation tag (2-8) of an APP1 Exif payload; undefined when absent, normal (1) or unreadable. */
function exifOrientation(app1: Buffer): number | undefined {
  if (app1.length < 14 || app1.toString('latin1', 0, 6) !== 'Exif\0\0') return undefined;
  const tiff = app1.subarray(6);
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const little = order === 'II';
  const u16 = (at: number): number => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number): number => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return undefined;
  const count = u16(ifd);
  for (let index = 0; index < count; index++) {
    const entry = ifd + 2 + index * 12;
    if (entry + 12 > tiff.length) return undefined;
    // Orientation is a single SHORT, stored in the first two bytes of the value field.
    if (u16(entry) === 0x0112 && u16(entry + 2) === 3 && u32(entry + 4) === 1) {
      const value = u16(entry + 8);
      return value >= 2 && value <= 8 ? value : undefined;
    }
  }
  return undefined;
}

/** An APP1 segment whose Exif holds nothing but the orientation. */
function orientationSegment(orientation: number): Buffer {
  const segment = Buffer.alloc(36);
  segment.writeUInt16BE(0xffe1, 0);
  segment.writeUInt16BE(34, 2);
  segment.write('Exif\0\0MM', 4, 'latin1');
  segment.writeUInt16BE(42, 12);
  segment.writeUInt32BE(8, 14); // IFD0 right after the TIFF header
  segment.writeUInt16BE(1, 18); // one entry
  segment.writeUInt16BE(0x0112, 20); // Orientation
  segment.writeUInt16BE(3, 22); // SHORT
  segment.writeUInt32BE(1, 24); // count
  segment.writeUInt16BE(orientation, 28);
  // Two bytes of padding after the value and a zero "next IFD" offset are left as allocated.
  return segment;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_DROPPED = new Set(['eXIf', 'tEXt', 'zTXt', 'iTXt', 'tIME']);

function png(emit: Emit): Step {
  let first = true;
  const chunk = (): Step =>
    take(8, (header) => {
      const length = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (length > 0x7fffffff || !/^[A-Za-z]{4}$/.test(type)) throw new Error('the PNG has a malformed chunk header');
      if (first && type !== 'IHDR') throw new Error('the PNG does not start with IHDR');
      first = false;
      // Data and CRC together: a dropped chunk loses its CRC, a kept one keeps it unchanged.
      if (PNG_DROPPED.has(type)) return skip(length + 4, chunk);
      emit(header);
      return copy(length + 4, type === 'IEND' ? () => END : chunk);
    });
  return take(8, (signature) => {
    if (!signature.equals(PNG_SIGNATURE)) throw new Error('the PNG signature is wrong');
    emit(signature);
    return chunk();
  });
}

const XMP_APPLICATION = 'XMP DataXMP';

function gif(emit: Emit): Step {
  const colorTable = (flags: number, then: () => Step): Step =>
    flags & 0x80 ? copy(3 * 2 ** ((flags & 0x07) + 1), then) : then();

  // Extension and image data are sub-blocks: a size byte, that many bytes, until a size of 0.
  const subBlocks = (keep: boolean, then: () => Step): Step =>
    take(1, (size) => {
      if (keep) emit(size);
      if (size[0] === 0) return then();
      const next = (): Step => subBlocks(keep, then);
      return keep ? copy(size[0], next) : skip(size[0], next);
    });

  const extension = (label: number): Step => {
    if (label === 0xfe) return subBlocks(false, block);
    if (label === 0xff) {
      return take(1, (size) =>
        take(size[0], (application) => {
          // XMP's packet is written raw, with a trailer that makes it walk as sub-blocks.
          if (application.toString('latin1') === XMP_APPLICATION) return subBlocks(false, block);
          emit([0x21, 0xff, size[0]]);
          emit(application);
          return subBlocks(true, block);
        }),
      );
    }
    emit([0x21, label]);
    return subBlocks(true, block);
  };

  const block = (): Step =>
    take(1, ([introducer]) => {
      switch (introducer) {
        case 0x21:
          return take(1, ([label]) => extension(label));
        case 0x2c:
          return take(9, (descriptor) => {
            emit([0x2c]);
            emit(descriptor);
            return colorTable(descriptor[8], () =>
              take(1, (codeSize) => {
                emit(codeSize);
                return subBlocks(true, block);
              }),
            );
          });
        case 0x3b:
          emit([0x3b]);
          return END;
        default:
          throw new Error(`the GIF has an unknown block 0x${hex(introducer)}`);
      }
    });

  return take(13, (header) => {
    const signature = header.toString('latin1', 0, 6);
    if (signature !== 'GIF87a' && signature !== 'GIF89a') throw new Error('the GIF signature is wrong');
    emit(header);
    return colorTable(header[10], block);
  });
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
