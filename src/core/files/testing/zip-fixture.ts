import { crc32, deflateRawSync } from 'node:zlib';
import type { RangeReader } from '../ooxml-inspector';

/**
 * A small zip writer for specs: honest archives by default, and every field an attacker controls can be
 * overridden so a spec can build the lie it is about.
 */
export interface ZipEntrySpec {
  name: string;
  data?: Buffer | string;
  /** 8 (deflate, default) or 0 (stored); any other value is written as is, with the bytes stored. */
  method?: number;
  flags?: number;
  /** Claimed in both headers instead of the true sizes. */
  declaredUncompressedSize?: number;
  declaredCompressedSize?: number;
  crc?: number;
  /** Deflate data written as is, for streams deflateRawSync would not make; `data` then only sets the CRC. */
  compressed?: Buffer;
  /** The name in the local header when it should differ from the central directory's. */
  localName?: string;
}

export interface ZipOptions {
  comment?: string;
  /** Entry counts written in the end of central directory record instead of the true one. */
  declaredEntries?: number;
  diskNumber?: number;
  /** Added to the central directory offset written in the end record. */
  centralDirectoryOffsetShift?: number;
  /** Writes a ZIP64 end of central directory locator and 0xFFFF/0xFFFFFFFF markers. */
  zip64?: boolean;
}

export function buildZip(entries: readonly ZipEntrySpec[], options: ZipOptions = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : (entry.data ?? Buffer.alloc(0));
    const method = entry.method ?? 8;
    const body = entry.compressed ?? (method === 8 ? deflateRawSync(data) : data);
    const fields = {
      flags: (entry.flags ?? 0) | 0x0800,
      method,
      crc: entry.crc ?? crc32(data),
      compressed: entry.declaredCompressedSize ?? body.length,
      uncompressed: entry.declaredUncompressedSize ?? data.length,
    };
    const local = header(0x04034b50, 30, Buffer.from(entry.localName ?? entry.name), fields);
    locals.push(local, body);
    const central = header(0x02014b50, 46, Buffer.from(entry.name), fields);
    central.writeUInt32LE(offset, 42);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const comment = Buffer.from(options.comment ?? '');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(options.diskNumber ?? 0, 4);
  end.writeUInt16LE(options.diskNumber ?? 0, 6);
  const count = options.zip64 ? 0xffff : (options.declaredEntries ?? entries.length);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(options.zip64 ? 0xffffffff : offset + (options.centralDirectoryOffsetShift ?? 0), 16);
  end.writeUInt16LE(comment.length, 20);
  const locator = options.zip64 ? zip64Locator(offset + directory.length) : Buffer.alloc(0);
  return Buffer.concat([...locals, directory, locator, end, comment]);
}

interface HeaderFields {
  flags: number;
  method: number;
  crc: number;
  compressed: number;
  uncompressed: number;
}

// Local (30 bytes) and central (46 bytes) headers share their fields, shifted by the central's "version made by".
function header(signature: number, fixed: 30 | 46, name: Buffer, fields: HeaderFields): Buffer {
  const out = Buffer.alloc(fixed + name.length);
  const shift = fixed === 46 ? 2 : 0;
  out.writeUInt32LE(signature, 0);
  if (shift) out.writeUInt16LE(20, 4);
  out.writeUInt16LE(20, 4 + shift);
  out.writeUInt16LE(fields.flags, 6 + shift);
  out.writeUInt16LE(fields.method, 8 + shift);
  out.writeUInt32LE(fields.crc >>> 0, 14 + shift);
  out.writeUInt32LE(fields.compressed, 18 + shift);
  out.writeUInt32LE(fields.uncompressed, 22 + shift);
  out.writeUInt16LE(name.length, 26 + shift);
  name.copy(out, fixed);
  return out;
}

function zip64Locator(endOfDirectory: number): Buffer {
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(endOfDirectory), 8);
  locator.writeUInt32LE(1, 16);
  return locator;
}

/** Reads ranges of `archive` as object storage would, recording what was asked for. */
export function memoryReader(archive: Buffer): { read: RangeReader; ranges: Array<[number, number]> } {
  const ranges: Array<[number, number]> = [];
  const read: RangeReader = (start, endInclusive) => {
    ranges.push([start, endInclusive]);
    return Promise.resolve(Buffer.from(archive.subarray(start, endInclusive + 1)));
  };
  return { read, ranges };
}

const CONTENT_TYPES_HEAD =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
  '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
  '<Default Extension="xml" ContentType="application/xml"/>';

export const WORD_MAIN = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml';
export const WORD_MACRO_MAIN = 'application/vnd.ms-word.document.macroEnabled.main+xml';
export const EXCEL_MAIN = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml';
export const EXCEL_MACRO_MAIN = 'application/vnd.ms-excel.sheet.macroEnabled.main+xml';

export function contentTypes(overrides: Record<string, string>): string {
  const parts = Object.entries(overrides).map(([part, type]) => `<Override PartName="${part}" ContentType="${type}"/>`);
  return `${CONTENT_TYPES_HEAD}${parts.join('')}</Types>`;
}

const ROOT_RELS =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
  '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
  '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" ' +
  'Target="MAIN"/></Relationships>';

/** The parts of a minimal Word document that Word opens. */
export function docxEntries(mainType = WORD_MAIN): ZipEntrySpec[] {
  return [
    { name: '[Content_Types].xml', data: contentTypes({ '/word/document.xml': mainType }) },
    { name: '_rels/.rels', data: ROOT_RELS.replace('MAIN', 'word/document.xml') },
    {
      name: 'word/document.xml',
      data:
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">' +
        '<w:body><w:p><w:r><w:t>Hello Atrium</w:t></w:r></w:p></w:body></w:document>',
    },
  ];
}

/** The parts of a minimal Excel workbook that Excel opens. */
export function xlsxEntries(mainType = EXCEL_MAIN): ZipEntrySpec[] {
  const rel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
  return [
    {
      name: '[Content_Types].xml',
      data: contentTypes({
        '/xl/workbook.xml': mainType,
        '/xl/worksheets/sheet1.xml': 'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml',
      }),
    },
    { name: '_rels/.rels', data: ROOT_RELS.replace('MAIN', 'xl/workbook.xml') },
    {
      name: 'xl/workbook.xml',
      data:
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
        `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="${rel}">` +
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      data:
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        `<Relationship Id="rId1" Type="${rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
    },
    {
      name: 'xl/worksheets/sheet1.xml',
      data:
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' +
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Hello</t></is></c></row></sheetData></worksheet>',
    },
  ];
}
