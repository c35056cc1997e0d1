/**
 * Types an upload from its first bytes. The name and the client's content type are never consulted: they only
 * have to agree with what this finds (see media-types.ts). Zips are only "zip" here; whether one is a docx or
 * an xlsx is decided by ooxml-inspector.ts, which reads the whole archive.
 */

/** Bytes of the head that suffice for every rule below (the ftyp box of an MP4 is the longest to read). */
export const SNIFF_BYTES = 4100;

export type SniffedKind = 'jpg' | 'png' | 'gif' | 'pdf' | 'mp4' | 'zip';

/**
 * What the head is. `label` names a recognised file that is not accepted, so an error can say what the
 * upload looks like (see describeDisguise).
 */
export type Sniffed = { kind: SniffedKind } | { kind: 'unknown'; label?: string };

const DISGUISES = new Map<string, string>(
  Object.entries({
    exe: 'a Windows executable',
    elf: 'a Linux executable',
    'mach-o': 'a macOS executable',
    script: 'a script',
    html: 'an HTML page',
    svg: 'an SVG image (which can carry scripts)',
    xml: 'an XML document',
    'zip-empty': 'an empty zip archive',
    'zip-spanned': 'a split zip archive',
    ole: 'a legacy or password-protected Office document',
    rar: 'a RAR archive',
    '7z': 'a 7-Zip archive',
    gzip: 'a gzip archive',
    webp: 'a WebP image',
    tiff: 'a TIFF image',
    heif: 'a HEIF/HEIC image',
    avif: 'an AVIF image',
    quicktime: 'a QuickTime movie',
    '3gp': 'a 3GP video',
    'mp4-audio': 'an MPEG-4 audio file',
    'pdf-offset': 'a PDF with other data before its header',
    'png-truncated': 'a truncated PNG image',
  }),
);

/** "a Windows executable" for the label "exe"; a neutral phrase for anything unrecognised. */
export function describeDisguise(label: string | undefined): string {
  return (label !== undefined ? DISGUISES.get(label) : undefined) ?? 'a file of an unrecognised type';
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// Brands of the ISO base media file format that promise a plain MP4 (video) a browser can play.
const MP4_BRANDS = new Set([
  'isom',
  'iso2',
  'iso3',
  'iso4',
  'iso5',
  'iso6',
  'mp41',
  'mp42',
  'avc1',
  'M4V ',
  'M4VH',
  'M4VP',
  'dash',
  'mmp4',
  'msnv',
  'cmfc',
  'cmf2',
]);

// These share the box structure (and often list isom among their brands) but are other formats: an image
// container must not pass as a video, nor a QuickTime or 3GP file as an MP4.
const FOREIGN_BRANDS = new Map<string, string>([
  ['qt  ', 'quicktime'],
  ['heic', 'heif'],
  ['heix', 'heif'],
  ['heim', 'heif'],
  ['heis', 'heif'],
  ['hevc', 'heif'],
  ['hevx', 'heif'],
  ['mif1', 'heif'],
  ['mif2', 'heif'],
  ['msf1', 'heif'],
  ['miaf', 'heif'],
  ['avif', 'avif'],
  ['avis', 'avif'],
  ['avio', 'avif'],
  ['M4A ', 'mp4-audio'],
  ['M4B ', 'mp4-audio'],
  ['M4P ', 'mp4-audio'],
]);

export function sniffType(head: Buffer): Sniffed {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { kind: 'jpg' };
  if (head.length >= PNG_SIGNATURE.length && head.subarray(0, 8).equals(PNG_SIGNATURE)) return { kind: 'png' };
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return { kind: 'gif' };
  // Strictly at offset 0, although readers accept "%PDF-" anywhere in the first 1024 bytes: data in front of
  // the header is how PDF polyglots (a PDF that is also an HTML page or a zip) are made.
  if (ascii(head, 0, 5) === '%PDF-') return { kind: 'pdf' };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return { kind: 'zip' };
  const box = sniffIsoBmff(head);
  if (box !== undefined) return box;
  const label = disguise(head);
  return label === undefined ? { kind: 'unknown' } : { kind: 'unknown', label };
}

function sniffIsoBmff(head: Buffer): Sniffed | undefined {
  if (head.length < 16 || ascii(head, 4, 8) !== 'ftyp') return undefined;
  const boxSize = head.readUInt32BE(0);
  // size 0 (to end of file) and 1 (64-bit size) are legal for other boxes, never for a real ftyp.
  if (boxSize < 16 || boxSize % 4 !== 0) return { kind: 'unknown' };
  const brands = [ascii(head, 8, 12)];
  for (let at = 16; at + 4 <= Math.min(boxSize, head.length); at += 4) brands.push(ascii(head, at, at + 4));
  const major = brands[0];
  if (major.startsWith('3gp') || major.startsWith('3g2')) return { kind: 'unknown', label: '3gp' };
  const foreign = FOREIGN_BRANDS.get(major) ?? brands.map((brand) => FOREIGN_BRANDS.get(brand)).find(isImage);
  if (foreign !== undefined) return { kind: 'unknown', label: foreign };
  return brands.some((brand) => MP4_BRANDS.has(brand)) ? { kind: 'mp4' } : { kind: 'unknown' };
}

// A compatible brand only disqualifies when it makes the file an image; a video may well list 'qt  '.
function isImage(label: string | undefined): boolean {
  return label === 'heif' || label === 'avif';
}

function disguise(head: Buffer): string | undefined {
  if (ascii(head, 0, 2) === 'MZ') return 'exe';
  if (startsWith(head, [0x7f, 0x45, 0x4c, 0x46])) return 'elf';
  const magic = head.length >= 4 ? head.readUInt32BE(0) : -1;
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic)) return 'mach-o';
  if (ascii(head, 0, 2) === '#!') return 'script';
  if (startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip-empty';
  if (startsWith(head, [0x50, 0x4b, 0x07, 0x08]) || startsWith(head, [0x50, 0x4b, 0x30, 0x30])) return 'zip-spanned';
  if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return 'ole';
  if (ascii(head, 0, 6) === 'Rar!\x1a\x07') return 'rar';
  if (startsWith(head, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return '7z';
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'webp';
  if (ascii(head, 0, 4) === 'II*\0' || ascii(head, 0, 4) === 'MM\0*') return 'tiff';
  if (head.length < PNG_SIGNATURE.length && head.length >= 4 && PNG_SIGNATURE.subarray(0, head.length).equals(head)) {
    return 'png-truncated';
  }
  if (head.subarray(0, 1024).includes('%PDF-')) return 'pdf-offset';
  return markup(head);
}

// Markup is recognised the way browsers sniff it: after a byte order mark and white space, case-insensitively.
function markup(head: Buffer): string | undefined {
  let text = head.subarray(0, 1024).toString('latin1');
  if (text.startsWith('\xef\xbb\xbf')) text = text.slice(3);
  text = text.trimStart().toLowerCase();
  if (text.startsWith('<?php')) return 'script';
  if (text.startsWith('<svg') || text.startsWith('<!doctype svg')) return 'svg';
  const htmlTags = ['<!doctype html', '<html', '<head', '<body', '<script', '<iframe', '<meta', '<title', '<a '];
  if (htmlTags.some((tag) => text.startsWith(tag))) return 'html';
  if (text.startsWith('<?xml') || text.startsWith('<!--')) {
    if (text.includes('<svg')) return 'svg';
    return text.includes('<html') ? 'html' : 'xml';
  }
  return undefined;
}

function startsWith(head: Buffer, bytes: readonly number[]): boolean {
  return head.length >= bytes.length && bytes.every((byte, index) => head[index] === byte);
}

function ascii(head: Buffer, start: number, end: number): string {
  return head.length >= end ? head.toString('latin1', start, end) : '';
}
