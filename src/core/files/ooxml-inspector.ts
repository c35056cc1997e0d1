import { createInflateRaw, crc32 } from 'node:zlib';
import { pipeline } from 'node:stream/promises';

/**
 * Decides whether an uploaded zip is a Word or Excel document and that it is not a zip bomb. The archive is
 * already in object storage and can be large, so it is read through ranges, never whole; declared sizes are
 * only trusted to refuse early: every entry is inflated and counted, since a bomb declares whatever it likes.
 */

/** `[start, endInclusive]` of the stored object; a storage failure rejects (and is not the client's fault). */
export type RangeReader = (start: number, endInclusive: number) => Promise<Buffer>;

export interface ZipLimits {
  maxEntries: number;
  maxUncompressedBytes: number;
  /** Uncompressed / compressed, per entry (entries below SMALL_ENTRY_BYTES are exempt). */
  maxRatio: number;
}

/** `reason` is a short sentence that can be shown to the client. */
export type OoxmlVerdict =
  { ok: true; type: 'docx' | 'xlsx'; entries: number; uncompressedBytes: number } | { ok: false; reason: string };

// Small entries compress far better than any sane ratio (a 4 KiB run of zeros is ~1000x) and cannot hurt.
const SMALL_ENTRY_BYTES = 64 * 1024;
// The most that is read (and held) at once, and the window of sequential reads served from one request.
const READ_BYTES = 1024 * 1024;
// 5000 entries with generous names fit in a fraction of this; more is not an Office document.
const MAX_DIRECTORY_BYTES = 4 * 1024 * 1024;
// [Content_Types].xml of a real document is a few KiB.
const MAX_CONTENT_TYPES_BYTES = 1024 * 1024;
const END_RECORD_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const CONTENT_TYPES = '[Content_Types].xml';

const NOT_OFFICE = 'the archive is not a Word or Excel document';
const MALFORMED = 'the archive is damaged or malformed';
const MACROS = 'macro-enabled documents are not accepted';

/** A reason to refuse the upload, thrown inside the inspection and returned as the verdict. */
class Refusal extends Error {}

interface Entry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
  localOffset: number;
}

export async function inspectOoxml(read: RangeReader, size: number, limits: ZipLimits): Promise<OoxmlVerdict> {
  try {
    const reader = windowed(read, size);
    const end = await readEndRecord(reader, size);
    if (end.entries > limits.maxEntries) {
      throw new Refusal(`the archive declares ${end.entries} entries (at most ${limits.maxEntries})`);
    }
    const entries = parseDirectory(
      await reader(end.directoryOffset, end.directoryOffset + end.directorySize - 1),
      end.entries,
    );
    checkEntries(entries, end.directoryOffset, limits);
    const type = typeFromNames(new Set(entries.map((entry) => entry.name)));
    const { total, contentTypes } = await inflateAll(reader, entries, end.directoryOffset, limits);
    checkContentTypes(type, contentTypes);
    return { ok: true, type, entries: entries.length, uncompressedBytes: total };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.message };
    throw error;
  }
}

interface EndRecord {
  entries: number;
  directoryOffset: number;
  directorySize: number;
}

async function readEndRecord(read: RangeReader, size: number): Promise<EndRecord> {
  if (size < END_RECORD_BYTES) throw new Refusal('the archive is truncated');
  const tailStart = Math.max(0, size - END_RECORD_BYTES - MAX_COMMENT_BYTES);
  const tail = await read(tailStart, size - 1);
  // The last signature whose comment ends exactly at the end of the file: a signature-like run inside the
  // comment does not fit, and neither does anything appended to the archive.
  let at = -1;
  for (let i = tail.length - END_RECORD_BYTES; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50 && i + END_RECORD_BYTES + tail.readUInt16LE(i + 20) === tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new Refusal('the archive is truncated or not a zip archive');
  const disk = tail.readUInt16LE(at + 4);
  const directoryDisk = tail.readUInt16LE(at + 6);
  const entriesHere = tail.readUInt16LE(at + 8);
  const entries = tail.readUInt16LE(at + 10);
  const directorySize = tail.readUInt32LE(at + 12);
  const directoryOffset = tail.readUInt32LE(at + 16);
  const zip64Locator = at >= 20 && tail.readUInt32LE(at - 20) === 0x07064b50;
  if (zip64Locator || entries === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    throw new Refusal('ZIP64 archives are not accepted');
  }
  if (disk !== 0 || directoryDisk !== 0 || entriesHere !== entries) {
    throw new Refusal('split (multi-disk) archives are not accepted');
  }
  if (entries === 0) throw new Refusal(NOT_OFFICE);
  // The directory must end where the end record starts: data in between or in front (a self-extracting
  // stub, a polyglot) is refused rather than interpreted.
  const endOffset = tailStart + at;
  if (directoryOffset + directorySize !== endOffset) throw new Refusal('the archive directory is out of bounds');
  if (directorySize > MAX_DIRECTORY_BYTES) throw new Refusal('the archive directory is too large');
  return { entries, directoryOffset, directorySize };
}

function parseDirectory(directory: Buffer, count: number): Entry[] {
  const entries: Entry[] = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== 0x02014b50) throw new Refusal(MALFORMED);
    const nameLength = directory.readUInt16LE(at + 28);
    const next = at + 46 + nameLength + directory.readUInt16LE(at + 30) + directory.readUInt16LE(at + 32);
    if (next > directory.length) throw new Refusal(MALFORMED);
    const flags = directory.readUInt16LE(at + 8);
    const nameBytes = directory.subarray(at + 46, at + 46 + nameLength);
    entries.push({
      // Without the UTF-8 flag names are CP437; only their ASCII part matters here.
      name: nameBytes.toString(flags & 0x0800 ? 'utf8' : 'latin1'),
      flags,
      method: directory.readUInt16LE(at + 10),
      crc: directory.readUInt32LE(at + 16),
      compressedSize: directory.readUInt32LE(at + 20),
      uncompressedSize: directory.readUInt32LE(at + 24),
      localOffset: directory.readUInt32LE(at + 42),
    });
    if (directory.readUInt16LE(at + 34) !== 0) throw new Refusal('split (multi-disk) archives are not accepted');
    at = next;
  }
  if (at !== directory.length) throw new Refusal(MALFORMED);
  return entries;
}

function checkEntries(entries: Entry[], directoryOffset: number, limits: ZipLimits): void {
  const seen = new Set<string>();
  let declared = 0;
  for (const entry of entries) {
    // Bit 0: encrypted; bit 6: strong encryption; bit 13: encrypted directory.
    if (entry.flags & 0x2041) throw new Refusal('encrypted archives are not accepted');
    if (
      entry.compressedSize === 0xffffffff ||
      entry.uncompressedSize === 0xffffffff ||
      entry.localOffset === 0xffffffff
    ) {
      throw new Refusal('ZIP64 archives are not accepted');
    }
    if (entry.method !== 0 && entry.method !== 8) throw new Refusal('the archive uses an unsupported compression');
    if (!isSafeName(entry.name)) throw new Refusal('the archive contains an unsafe file name');
    // Document parts are case-insensitive; two spellings of one part would let readers disagree on which counts.
    const key = entry.name.toLowerCase();
    if (seen.has(key)) throw new Refusal('the archive contains duplicate entries');
    seen.add(key);
    if (entry.method === 0 && entry.compressedSize !== entry.uncompressedSize) throw new Refusal(MALFORMED);
    if (
      entry.uncompressedSize >= SMALL_ENTRY_BYTES &&
      entry.uncompressedSize > entry.compressedSize * limits.maxRatio
    ) {
      throw new Refusal(`an entry expands more than ${limits.maxRatio}x`);
    }
    declared += entry.uncompressedSize;
    if (declared > limits.maxUncompressedBytes) throw new Refusal(tooLarge(limits));
  }
  // Entries may not overlap (overlapping entries are how the most efficient zip bombs reuse one payload).
  const byOffset = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  byOffset.forEach((entry, index) => {
    const nextStart = byOffset[index + 1]?.localOffset ?? directoryOffset;
    if (entry.localOffset + 30 + entry.compressedSize > nextStart) throw new Refusal(MALFORMED);
  });
}

function isSafeName(name: string): boolean {
  if (name === '' || name.includes('\0') || name.includes('\\')) return false;
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) return false;
  return !name.split('/').some((segment) => segment === '..' || segment === '.');
}

function typeFromNames(names: Set<string>): 'docx' | 'xlsx' {
  if (!names.has(CONTENT_TYPES)) throw new Refusal(NOT_OFFICE);
  // A document with a VBA project is macro-enabled whatever its content types say.
  if ([...names].some((name) => name.toLowerCase().endsWith('vbaproject.bin'))) throw new Refusal(MACROS);
  const word = names.has('word/document.xml');
  const excel = names.has('xl/workbook.xml');
  if (word === excel) throw new Refusal(NOT_OFFICE);
  return word ? 'docx' : 'xlsx';
}

const MAIN_PARTS = {
  docx: {
    part: '/word/document.xml',
    type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml',
  },
  xlsx: {
    part: '/xl/workbook.xml',
    type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml',
  },
} as const;

function checkContentTypes(type: 'docx' | 'xlsx', xml: string): void {
  if (/macroEnabled/i.test(xml) || /vbaProject/i.test(xml)) throw new Refusal(MACROS);
  const main = MAIN_PARTS[type];
  const declared = [...xml.matchAll(/<Override\b([^>]*)>/g)].some(([, attributes]) => {
    const partName = attribute(attributes, 'PartName');
    return partName?.toLowerCase() === main.part && attribute(attributes, 'ContentType') === main.type;
  });
  if (!declared) throw new Refusal(NOT_OFFICE);
}

function attribute(attributes: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(attributes);
  return match ? (match[1] ?? match[2]) : undefined;
}

async function inflateAll(
  read: RangeReader,
  entries: Entry[],
  directoryOffset: number,
  limits: ZipLimits,
): Promise<{ total: number; contentTypes: string }> {
  let total = 0;
  let contentTypes = '';
  // In file order, so the windowed reader serves consecutive entries from one request.
  const byOffset = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  for (const [index, entry] of byOffset.entries()) {
    const start = await dataOffset(read, entry);
    const nextStart = byOffset[index + 1]?.localOffset ?? directoryOffset;
    if (start + entry.compressedSize > nextStart) throw new Refusal(MALFORMED);
    const keep = entry.name === CONTENT_TYPES;
    const kept: Buffer[] = [];
    let keptBytes = 0;
    await inflateEntry(read, start, entry, (chunk) => {
      total += chunk.length;
      if (total > limits.maxUncompressedBytes) throw new Refusal(tooLarge(limits));
      if (!keep) return;
      keptBytes += chunk.length;
      if (keptBytes > MAX_CONTENT_TYPES_BYTES) throw new Refusal(NOT_OFFICE);
      kept.push(chunk);
    });
    if (keep) contentTypes = Buffer.concat(kept).toString('utf8');
  }
  return { total, contentTypes };
}

// The local header repeats the central one; where they disagree readers disagree, so that is refused.
async function dataOffset(read: RangeReader, entry: Entry): Promise<number> {
  const local = await read(entry.localOffset, entry.localOffset + 29);
  if (local.readUInt32LE(0) !== 0x04034b50) throw new Refusal(MALFORMED);
  const flags = local.readUInt16LE(6);
  if (flags & 0x2041) throw new Refusal('encrypted archives are not accepted');
  if (local.readUInt16LE(8) !== entry.method) throw new Refusal(MALFORMED);
  const nameLength = local.readUInt16LE(26);
  const start = entry.localOffset + 30 + nameLength + local.readUInt16LE(28);
  if (nameLength > 0) {
    const name = await read(entry.localOffset + 30, entry.localOffset + 29 + nameLength);
    if (name.toString(flags & 0x0800 ? 'utf8' : 'latin1') !== entry.name) throw new Refusal(MALFORMED);
  }
  return start;
}

/** Streams one entry's data through the inflater (or not, when stored), checking its size and CRC. */
async function inflateEntry(
  read: RangeReader,
  start: number,
  entry: Entry,
  onOutput: (chunk: Buffer) => void,
): Promise<void> {
  let produced = 0;
  let crc = 0;
  const count = (chunk: Buffer): void => {
    produced += chunk.length;
    // The declared size is what the ratio and total checks trusted: output beyond it is a lie, so stop now.
    if (produced > entry.uncompressedSize) throw new Refusal('an entry expands beyond its declared size');
    crc = crc32(chunk, crc);
    onOutput(chunk);
  };
  async function* compressed(): AsyncGenerator<Buffer> {
    for (let at = start; at < start + entry.compressedSize; at += READ_BYTES) {
      yield await read(at, Math.min(at + READ_BYTES, start + entry.compressedSize) - 1);
    }
  }
  if (entry.method === 0) {
    for await (const chunk of compressed()) count(chunk);
  } else {
    try {
      await pipeline(compressed, createInflateRaw(), async (output: AsyncIterable<Buffer>) => {
        for await (const chunk of output) count(chunk);
      });
    } catch (error) {
      if (error instanceof Refusal) throw error;
      // zlib's errors carry a code; storage failures do not and are not the client's doing.
      if (isZlibError(error)) throw new Refusal(MALFORMED);
      throw error;
    }
  }
  if (produced !== entry.uncompressedSize || crc >>> 0 !== entry.crc >>> 0) throw new Refusal(MALFORMED);
}

// Not `instanceof Error`: zlib's errors may come from another realm (a vm context, as under Jest).
function isZlibError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('Z_')
  );
}

/**
 * Serves ranges from one read-ahead window when they fall inside it, so walking an archive of small entries
 * costs about one request per READ_BYTES instead of two per entry; at most one window is held.
 */
function windowed(read: RangeReader, size: number): RangeReader {
  let windowStart = 0;
  let window: Buffer = Buffer.alloc(0);
  return async (start, endInclusive) => {
    if (start < 0 || endInclusive >= size || endInclusive < start) throw new Refusal(MALFORMED);
    const length = endInclusive - start + 1;
    if (start >= windowStart && endInclusive < windowStart + window.length) {
      return window.subarray(start - windowStart, start - windowStart + length);
    }
    const fetchEnd = length >= READ_BYTES ? endInclusive : Math.min(size - 1, start + READ_BYTES - 1);
    const bytes = await read(start, fetchEnd);
    if (bytes.length !== fetchEnd - start + 1) {
      throw new Error(`range reader returned ${bytes.length} bytes for [${start}, ${fetchEnd}]`);
    }
    windowStart = start;
    window = bytes;
    return bytes.subarray(0, length);
  };
}

function tooLarge(limits: ZipLimits): string {
  return `the archive expands to more than ${formatBytes(limits.maxUncompressedBytes)}`;
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
