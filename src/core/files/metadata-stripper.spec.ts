import { createCipheriv } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { metadataStripper } from './metadata-stripper';

type ImageType = 'jpg' | 'png' | 'gif';

/** Splits `input` into 1-byte chunks, chunks of a fixed size, or seeded pseudo-random sizes of 1..max. */
function chunked(input: Buffer, split: number | { seed: number; max: number }): Buffer[] {
  const chunks: Buffer[] = [];
  let state = typeof split === 'number' ? 0 : split.seed;
  for (let at = 0; at < input.length;) {
    let size = split as number;
    if (typeof split !== 'number') {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      size = 1 + (state % split.max);
    }
    chunks.push(input.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

async function strip(type: ImageType, input: Buffer, split: number | { seed: number; max: number } = 65536) {
  const output: Buffer[] = [];
  await pipeline(
    Readable.from(chunked(input, split)),
    metadataStripper(type),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) output.push(chunk);
    },
  );
  return Buffer.concat(output);
}

const SPLITS: Array<number | { seed: number; max: number }> = [
  1,
  2,
  3,
  7,
  { seed: 1, max: 16 },
  { seed: 42, max: 300 },
];

function jpegSegment(code: number, payload: Buffer | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const header = Buffer.from([0xff, code, 0, 0]);
  header.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([header, data]);
}

function afterSoi(jpeg: Buffer, ...segments: Buffer[]): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

/** The markers of a JPEG up to its first SOS. */
function jpegMarkers(jpeg: Buffer): number[] {
  const markers: number[] = [];
  for (let at = 2; at < jpeg.length; at += 2 + jpeg.readUInt16BE(at + 2)) {
    markers.push(jpeg[at + 1]);
    if (jpeg[at + 1] === 0xda) break;
  }
  return markers;
}

function pngChunk(type: string, data: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), Buffer.from(data)]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length - 4);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** The same PNG with its IDAT chunks joined into one (their data is one zlib stream). */
function singleIdat(png: Buffer): Buffer {
  const chunks: Buffer[] = [];
  const data: Buffer[] = [];
  for (let at = 8; at < png.length; at += 12 + png.readUInt32BE(at)) {
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') data.push(png.subarray(at + 8, at + 8 + png.readUInt32BE(at)));
    else if (type === 'IEND') chunks.push(pngChunk('IDAT', Buffer.concat(data)), pngChunk('IEND', ''));
    else if (type === 'IHDR') chunks.push(png.subarray(at, at + 12 + png.readUInt32BE(at)));
  }
  return Buffer.concat([png.subarray(0, 8), ...chunks]);
}

function pngChunkTypes(png: Buffer): string[] {
  const types: string[] = [];
  for (let at = 8; at < png.length; at += 12 + png.readUInt32BE(at)) types.push(png.toString('latin1', at + 4, at + 8));
  return types;
}

/** Both decode to the same size and pixels (compared with equals: Jest's deep equality is slow on buffers). */
async function expectSamePixels(actual: Buffer, expected: Buffer): Promise<void> {
  const [a, b] = await Promise.all(
    [actual, expected].map((image) => sharp(image).raw().toBuffer({ resolveWithObject: true })),
  );
  expect([a.info.width, a.info.height]).toEqual([b.info.width, b.info.height]);
  expect(a.data.equals(b.data)).toBe(true);
}

const GPS = {
  GPSLatitudeRef: 'N',
  GPSLatitude: '51/1 30/1 1234/100',
  GPSLongitudeRef: 'W',
  GPSLongitude: '0/1 7/1 0/1',
};
const XMP =
  '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
  '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="XmpCreator"/></rdf:RDF></x:xmpmeta>';

describe('metadataStripper', () => {
  const canvas = () => sharp({ create: { width: 37, height: 23, channels: 3, background: '#3a7bd5' } });

  describe('JPEG', () => {
    let clean: Buffer;
    let tagged: Buffer;

    beforeAll(async () => {
      clean = await canvas().jpeg().toBuffer();
      const exif = await canvas()
        .jpeg()
        .withExif({ IFD0: { Copyright: 'Secret Owner', Artist: 'Ada Lovelace' }, IFD3: GPS })
        .withXmp(XMP)
        .toBuffer();
      tagged = afterSoi(
        exif,
        jpegSegment(0xe0, 'JFIF\0\x01\x02\0\0\x01\0\x01\0\0'),
        jpegSegment(0xfe, 'comment: shot at 12 Home Street'),
        jpegSegment(0xec, 'Ducky\0 secret'),
        jpegSegment(0xed, 'Photoshop 3.0\0 8BIM IPTC caption: secret'),
        jpegSegment(0xe2, 'MPF\0 secondary images with their own Exif'),
        jpegSegment(0xeb, 'JP\0 JUMBF C2PA manifest with identity'),
      );
      // Proof that the sample carries what must go: Exif with a GPS IFD pointer (tag 0x8825, little-endian).
      expect(tagged.includes('Exif\0\0')).toBe(true);
      expect(tagged.includes(Buffer.from([0x25, 0x88]))).toBe(true);
      expect((await sharp(tagged).metadata()).exif).toBeDefined();
    });

    it.each(SPLITS)('should drop Exif, XMP, IPTC, comments and vendor blocks (chunks %j)', async (split) => {
      const out = await strip('jpg', tagged, split);
      for (const secret of [
        'Exif',
        'Secret Owner',
        'Ada Lovelace',
        'XmpCreator',
        'Home Street',
        'IPTC',
        'MPF',
        'C2PA',
      ]) {
        expect(out.includes(secret)).toBe(false);
      }
      expect(out.includes(Buffer.from([0x25, 0x88]))).toBe(false);
      expect(jpegMarkers(out)).toEqual([0xe0, ...jpegMarkers(withoutSampleSegments(tagged))]);
      const metadata = await sharp(out).metadata();
      expect(metadata.exif).toBeUndefined();
      expect(metadata.xmp).toBeUndefined();
      await expectSamePixels(out, tagged);
    });

    // The encoder's own segments: the sample's additions and its APP1s left out.
    function withoutSampleSegments(jpeg: Buffer): Buffer {
      const kept: Buffer[] = [jpeg.subarray(0, 2)];
      let at = 2;
      for (; jpeg[at + 1] !== 0xda; at += 2 + jpeg.readUInt16BE(at + 2)) {
        if (![0xe0, 0xe1, 0xe2, 0xeb, 0xec, 0xed, 0xfe].includes(jpeg[at + 1])) {
          kept.push(jpeg.subarray(at, at + 2 + jpeg.readUInt16BE(at + 2)));
        }
      }
      kept.push(jpeg.subarray(at));
      return Buffer.concat(kept);
    }

    it('should leave a JPEG without metadata byte for byte as it was', async () => {
      for (const split of SPLITS) expect((await strip('jpg', clean, split)).equals(clean)).toBe(true);
    });

    it('should keep the ICC profile and Adobe segment and a progressive image intact', async () => {
      const progressive = await canvas().jpeg({ progressive: true }).withIccProfile('p3').toBuffer();
      const adobe = jpegSegment(0xee, Buffer.from('Adobe\0\x64\0\0\0\0\x01', 'latin1'));
      const input = afterSoi(progressive, adobe, jpegSegment(0xfe, 'secret'));
      const out = await strip('jpg', input, { seed: 7, max: 50 });
      expect(out.equals(afterSoi(progressive, adobe))).toBe(true);
      expect((await sharp(out).metadata()).icc).toBeDefined();
    });

    it('should keep only the orientation of the Exif', async () => {
      const rotated = await canvas()
        .jpeg()
        .withMetadata({ orientation: 6 })
        .withExifMerge({ IFD0: { Copyright: 'Secret Owner' }, IFD3: GPS })
        .toBuffer();
      expect((await sharp(rotated).metadata()).orientation).toBe(6);
      expect(rotated.includes('Secret Owner')).toBe(true);
      const out = await strip('jpg', rotated, 3);
      expect(out.includes('Secret Owner')).toBe(false);
      expect(out.includes(Buffer.from([0x25, 0x88]))).toBe(false);
      const metadata = await sharp(out).metadata();
      expect(metadata.orientation).toBe(6);
      expect(metadata.exif?.length).toBeLessThan(40);
      // Displayed upright: 23 wide, 37 high once rotated by its orientation.
      const upright = await sharp(out).rotate().toBuffer({ resolveWithObject: true });
      expect([upright.info.width, upright.info.height]).toEqual([23, 37]);
    });

    it('should drop whatever follows the end of the image', async () => {
      const trailer = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1]), Buffer.from('Exif\0\0 appended preview')]);
      const out = await strip('jpg', Buffer.concat([clean, trailer]), 5);
      expect(out.equals(clean)).toBe(true);
    });

    it('should stream entropy data instead of buffering it', async () => {
      const noisy = await noiseImage(300).jpeg({ quality: 95 }).toBuffer();
      await expectStreaming('jpg', noisy);
    });

    it.each<[string, (jpeg: Buffer) => Buffer, RegExp]>([
      ['no SOI', (jpeg) => jpeg.subarray(2), /does not start with SOI/],
      ['a truncated header', (jpeg) => jpeg.subarray(0, 40), /truncated/],
      ['truncated entropy data', (jpeg) => jpeg.subarray(0, jpeg.length - 20), /truncated/],
      ['a segment length below 2', (jpeg) => afterSoi(jpeg, Buffer.from([0xff, 0xe0, 0x00, 0x01])), /invalid length/],
      ['data where a marker belongs', (jpeg) => afterSoi(jpeg, Buffer.from([0x00, 0x11])), /marker was expected/],
      ['EOI before any image', () => Buffer.from([0xff, 0xd8, 0xff, 0xd9]), /ends before its image data/],
      ['a second SOI', (jpeg) => afterSoi(jpeg, Buffer.from([0xff, 0xd8])), /unexpected marker 0xd8/],
      ['nothing', () => Buffer.alloc(0), /empty/],
    ])('should fail on %s', async (_name, corrupt, message) => {
      await expect(strip('jpg', corrupt(clean), 3)).rejects.toThrow(message);
    });
  });

  describe('PNG', () => {
    let clean: Buffer;
    let tagged: Buffer;

    beforeAll(async () => {
      clean = await canvas().png().toBuffer();
      const exif = await canvas()
        .png()
        .withExif({ IFD0: { Copyright: 'Secret Owner' }, IFD3: GPS })
        .toBuffer();
      // After IHDR (8 + 25 bytes), as editors write them.
      tagged = Buffer.concat([
        exif.subarray(0, 33),
        pngChunk('tEXt', 'Author\0Ada Lovelace'),
        pngChunk('zTXt', 'Comment\0\0x\x9c secret'),
        pngChunk('iTXt', 'XML:com.adobe.xmp\0\0\0\0\0' + XMP),
        pngChunk('tIME', Buffer.from([0x07, 0xe9, 1, 2, 3, 4, 5])),
        exif.subarray(33),
      ]);
      expect(pngChunkTypes(tagged)).toEqual(['IHDR', 'tEXt', 'zTXt', 'iTXt', 'tIME', 'eXIf', 'pHYs', 'IDAT', 'IEND']);
    });

    it.each(SPLITS)('should drop eXIf and text chunks (chunks %j)', async (split) => {
      const out = await strip('png', tagged, split);
      expect(pngChunkTypes(out)).toEqual(['IHDR', 'pHYs', 'IDAT', 'IEND']);
      for (const secret of ['Secret Owner', 'Ada Lovelace', 'XmpCreator', 'secret'])
        expect(out.includes(secret)).toBe(false);
      await expectSamePixels(out, clean);
      expect((await sharp(out).metadata()).exif).toBeUndefined();
    });

    it('should leave a PNG without metadata byte for byte as it was', async () => {
      for (const split of SPLITS) expect((await strip('png', clean, split)).equals(clean)).toBe(true);
    });

    it('should drop whatever follows IEND', async () => {
      const out = await strip('png', Buffer.concat([clean, Buffer.from('PK\x03\x04 smuggled')]), 4);
      expect(out.equals(clean)).toBe(true);
    });

    it('should stream chunk data instead of buffering whole chunks', async () => {
      // Encoders write IDATs of a few KiB; a single one of 480 KB is as legal and shows the data is not held.
      const noisy = singleIdat(await noiseImage(400).png({ compressionLevel: 0 }).toBuffer());
      expect(pngChunkTypes(noisy)).toEqual(['IHDR', 'IDAT', 'IEND']);
      expect(noisy.length).toBeGreaterThan(400 * 400 * 3);
      await expectStreaming('png', noisy);
      await expectSamePixels(await strip('png', noisy), noisy);
    });

    it.each<[string, (png: Buffer) => Buffer, RegExp]>([
      [
        'a wrong signature',
        (png) => Buffer.concat([Buffer.from('\x89PNG\n\r\x1a\n', 'latin1'), png.subarray(8)]),
        /signature/,
      ],
      [
        'a first chunk other than IHDR',
        (png) => Buffer.concat([png.subarray(0, 8), pngChunk('tEXt', 'a\0b'), png.subarray(8)]),
        /IHDR/,
      ],
      [
        'a malformed chunk type',
        (png) => Buffer.concat([png.subarray(0, 33), Buffer.from([0, 0, 0, 0, 0x31, 0x32, 0x33, 0x34])]),
        /malformed chunk/,
      ],
      ['a truncated chunk', (png) => png.subarray(0, png.length - 14), /truncated/],
      ['a missing IEND', (png) => png.subarray(0, png.length - 12), /truncated/],
    ])('should fail on %s', async (_name, corrupt, message) => {
      await expect(strip('png', corrupt(clean), 5)).rejects.toThrow(message);
    });
  });

  describe('GIF', () => {
    let clean: Buffer;

    beforeAll(async () => {
      clean = await canvas().gif().toBuffer();
    });

    // Header (6), logical screen descriptor (7) and the global colour table its flags announce.
    const headerLength = (gif: Buffer): number => 13 + (gif[10] & 0x80 ? 3 * 2 ** ((gif[10] & 7) + 1) : 0);

    function withExtensions(gif: Buffer, ...extensions: Buffer[]): Buffer {
      return Buffer.concat([gif.subarray(0, headerLength(gif)), ...extensions, gif.subarray(headerLength(gif))]);
    }

    const comment = Buffer.concat([Buffer.from([0x21, 0xfe, 12]), Buffer.from('Secret Owner'), Buffer.from([0])]);
    // XMP's packet is raw bytes followed by a 258-byte "magic trailer" (0x01, 0xFF..0x00, 0x00).
    const magic = Buffer.from([1, ...Array.from({ length: 256 }, (_, index) => 255 - index), 0]);
    const xmp = Buffer.concat([Buffer.from([0x21, 0xff, 11]), Buffer.from('XMP DataXMP'), Buffer.from(XMP), magic]);
    const loop = Buffer.from([0x21, 0xff, 11, ...Buffer.from('NETSCAPE2.0'), 3, 1, 0, 0, 0]);

    it.each(SPLITS)('should drop comments and XMP and keep other extensions (chunks %j)', async (split) => {
      const out = await strip('gif', withExtensions(clean, comment, loop, xmp), split);
      expect(out.equals(withExtensions(clean, loop))).toBe(true);
      await expectSamePixels(out, clean);
    });

    it('should leave a GIF without metadata byte for byte as it was', async () => {
      for (const split of SPLITS) expect((await strip('gif', clean, split)).equals(clean)).toBe(true);
    });

    it.each<[string, (gif: Buffer) => Buffer, RegExp]>([
      ['a wrong signature', (gif) => Buffer.concat([Buffer.from('GIF90a'), gif.subarray(6)]), /signature/],
      ['an unknown block', (gif) => withExtensions(gif, Buffer.from([0x99])), /unknown block 0x99/],
      ['a missing trailer', (gif) => gif.subarray(0, gif.length - 1), /truncated/],
    ])('should fail on %s', async (_name, corrupt, message) => {
      await expect(strip('gif', corrupt(clean), 2)).rejects.toThrow(message);
    });
  });
});

/** A square of deterministic noise (an AES-CTR keystream), which compresses badly: large entropy data. */
function noiseImage(side: number): sharp.Sharp {
  const bytes = createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16)).update(
    Buffer.alloc(side * side * 3),
  );
  return sharp(bytes, { raw: { width: side, height: side, channels: 3 } });
}

/** Writes the first half of `image` and expects most of it out before the rest is written. */
async function expectStreaming(type: ImageType, image: Buffer): Promise<void> {
  const stripper = metadataStripper(type);
  let received = 0;
  stripper.on('data', (chunk: Buffer) => (received += chunk.length));
  const half = Math.floor(image.length / 2);
  for (const chunk of chunked(image.subarray(0, half), 4096)) stripper.write(chunk);
  await new Promise((resolve) => setImmediate(resolve));
  expect(received).toBeGreaterThan(half * 0.9);
  stripper.end(image.subarray(half));
  await new Promise((resolve) => stripper.on('end', resolve));
  expect(received).toBeLessThanOrEqual(image.length);
}
