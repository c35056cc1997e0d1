import { createCipheriv } from 'node:crypto';
import { constants, deflateRawSync } from 'node:zlib';
import { inspectOoxml, type OoxmlVerdict, type ZipLimits } from './ooxml-inspector';
import {
  buildZip,
  contentTypes,
  docxEntries,
  EXCEL_MACRO_MAIN,
  memoryReader,
  WORD_MACRO_MAIN,
  WORD_MAIN,
  xlsxEntries,
  type ZipEntrySpec,
  type ZipOptions,
} from './testing/zip-fixture';

const MiB = 1024 * 1024;
const LIMITS: ZipLimits = { maxEntries: 5000, maxUncompressedBytes: 100 * MiB, maxRatio: 200 };

function inspect(archive: Buffer, limits: ZipLimits = LIMITS): Promise<OoxmlVerdict> {
  return inspectOoxml(memoryReader(archive).read, archive.length, limits);
}

function zip(entries: ZipEntrySpec[], options?: ZipOptions): Buffer {
  return buildZip(entries, options);
}

function refused(reason: string | RegExp): { ok: false; reason: string | RegExp } {
  return { ok: false, reason: typeof reason === 'string' ? reason : expect.stringMatching(reason) };
}

/** Deterministic bytes that do not compress: an AES-CTR keystream under a fixed key. */
function noise(length: number, seed = 1): Buffer {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16));
  return cipher.update(Buffer.alloc(length));
}

describe('inspectOoxml', () => {
  it('should recognise a minimal Word document', async () => {
    const archive = zip(docxEntries());
    await expect(inspect(archive)).resolves.toEqual({
      ok: true,
      type: 'docx',
      entries: 3,
      uncompressedBytes: docxEntries().reduce((sum, entry) => sum + Buffer.byteLength(entry.data ?? ''), 0),
    });
  });

  it('should recognise a minimal Excel workbook', async () => {
    await expect(inspect(zip(xlsxEntries()))).resolves.toMatchObject({ ok: true, type: 'xlsx', entries: 5 });
  });

  it('should recognise a document with stored entries and an archive comment', async () => {
    const entries = docxEntries().map((entry) => ({ ...entry, method: 0 }));
    const archive = zip(entries, { comment: 'PK\x05\x06 made by a test' });
    await expect(inspect(archive)).resolves.toMatchObject({ ok: true, type: 'docx' });
  });

  it('should refuse a zip that is not an Office document', async () => {
    const archive = zip([{ name: 'readme.txt', data: 'hello' }]);
    await expect(inspect(archive)).resolves.toEqual(refused('the archive is not a Word or Excel document'));
  });

  it('should refuse a package whose content types do not declare its main part', async () => {
    const entries = docxEntries();
    entries[0] = { name: '[Content_Types].xml', data: contentTypes({ '/word/other.xml': WORD_MAIN }) };
    await expect(inspect(zip(entries))).resolves.toEqual(refused('the archive is not a Word or Excel document'));
  });

  it('should refuse macro-enabled documents', async () => {
    const macro = 'macro-enabled documents are not accepted';
    await expect(inspect(zip(docxEntries(WORD_MACRO_MAIN)))).resolves.toEqual(refused(macro));
    await expect(inspect(zip(xlsxEntries(EXCEL_MACRO_MAIN)))).resolves.toEqual(refused(macro));
    const smuggled = [...docxEntries(), { name: 'word/vbaProject.bin', data: noise(100) }];
    await expect(inspect(zip(smuggled))).resolves.toEqual(refused(macro));
  });

  it('should refuse a bomb whose declared sizes lie', async () => {
    const zeros = Buffer.alloc(50 * MiB);
    const entries: ZipEntrySpec[] = [...docxEntries(), { name: 'word/media/a.bin', data: zeros }];
    // Claims 1000 bytes for 50 MiB, so that neither the ratio nor the total looks suspicious.
    entries[3].declaredUncompressedSize = 1000;
    const archive = zip(entries);
    expect(archive.length).toBeLessThan(100 * 1024);
    await expect(inspect(archive)).resolves.toEqual(refused('an entry expands beyond its declared size'));
  });

  it('should stop reading a lying entry as soon as it outgrows its declared size', async () => {
    // Fully flushed segments restart the dictionary, so one 1 MiB-of-zeros segment can be repeated: 8 MiB of
    // deflate data that would expand to about 8 GiB.
    const segment = deflateRawSync(Buffer.alloc(MiB), { finishFlush: constants.Z_FULL_FLUSH });
    const copies = Math.ceil((8 * MiB) / segment.length);
    const compressed = Buffer.concat([...new Array<Buffer>(copies).fill(segment), deflateRawSync(Buffer.alloc(0))]);
    const bomb = { name: 'word/media/a.bin', compressed, declaredUncompressedSize: 2 * MiB };
    const archive = zip([...docxEntries(), bomb]);
    const { read, ranges } = memoryReader(archive);
    const verdict = await inspectOoxml(read, archive.length, LIMITS);
    expect(verdict).toEqual(refused('an entry expands beyond its declared size'));
    const bytesRead = ranges.reduce((sum, [start, end]) => sum + end - start + 1, 0);
    expect(archive.length).toBeGreaterThan(8 * MiB);
    expect(bytesRead).toBeLessThan(3 * MiB);
  });

  it('should refuse an entry whose declared ratio is a bomb before inflating', async () => {
    const entries: ZipEntrySpec[] = [...docxEntries(), { name: 'word/media/a.bin', data: Buffer.alloc(MiB) }];
    await expect(inspect(zip(entries))).resolves.toEqual(refused('an entry expands more than 200x'));
  });

  it('should allow high ratios in small entries', async () => {
    const entries: ZipEntrySpec[] = [...docxEntries(), { name: 'word/media/a.bin', data: Buffer.alloc(60 * 1024) }];
    await expect(inspect(zip(entries))).resolves.toMatchObject({ ok: true, type: 'docx' });
  });

  it('should refuse an archive whose declared total exceeds the limit', async () => {
    const entries: ZipEntrySpec[] = [...docxEntries(), { name: 'word/media/a.bin', data: noise(300 * 1024) }];
    const limits = { ...LIMITS, maxUncompressedBytes: 256 * 1024 };
    await expect(inspect(zip(entries), limits)).resolves.toEqual(refused('the archive expands to more than 256 KB'));
  });

  it('should refuse too many entries from the end record before reading the directory', async () => {
    const entries: ZipEntrySpec[] = docxEntries();
    for (let index = 0; index < 20; index++) entries.push({ name: `word/media/${index}.txt`, data: 'x' });
    const archive = zip(entries);
    const { read, ranges } = memoryReader(archive);
    const verdict = await inspectOoxml(read, archive.length, { ...LIMITS, maxEntries: 10 });
    expect(verdict).toEqual(refused('the archive declares 23 entries (at most 10)'));
    // One read: the tail that holds the end record (here the whole small archive).
    expect(ranges).toEqual([[0, archive.length - 1]]);
  });

  it('should refuse ZIP64, split and encrypted archives', async () => {
    await expect(inspect(zip(docxEntries(), { zip64: true }))).resolves.toEqual(
      refused('ZIP64 archives are not accepted'),
    );
    await expect(inspect(zip(docxEntries(), { diskNumber: 1 }))).resolves.toEqual(
      refused('split (multi-disk) archives are not accepted'),
    );
    const encrypted = docxEntries();
    encrypted[2].flags = 0x0001;
    await expect(inspect(zip(encrypted))).resolves.toEqual(refused('encrypted archives are not accepted'));
  });

  it('should refuse compression methods other than stored and deflate', async () => {
    const entries = docxEntries();
    entries[2].method = 12; // bzip2
    await expect(inspect(zip(entries))).resolves.toEqual(refused('the archive uses an unsupported compression'));
  });

  it.each(['../evil.xml', 'word/../../evil.xml', '/etc/passwd', 'C:/evil.xml', 'word\\..\\evil.xml'])(
    'should refuse the unsafe entry name %j',
    async (name) => {
      const entries: ZipEntrySpec[] = [...docxEntries(), { name, data: 'x' }];
      await expect(inspect(zip(entries))).resolves.toEqual(refused('the archive contains an unsafe file name'));
    },
  );

  it('should refuse entries that differ only in case', async () => {
    const entries: ZipEntrySpec[] = [...docxEntries(), { name: 'WORD/document.xml', data: '<x/>' }];
    await expect(inspect(zip(entries))).resolves.toEqual(refused('the archive contains duplicate entries'));
  });

  it('should refuse a local header that names another file than the directory', async () => {
    const entries = docxEntries();
    entries[2].localName = 'word/documenx.xml';
    await expect(inspect(zip(entries))).resolves.toEqual(refused('the archive is damaged or malformed'));
  });

  it('should refuse an entry whose data does not match its CRC', async () => {
    const entries = docxEntries();
    entries[2].crc = 0x12345678;
    await expect(inspect(zip(entries))).resolves.toEqual(refused('the archive is damaged or malformed'));
  });

  it('should refuse data that is not deflate', async () => {
    const entries = docxEntries();
    // 0x07: a final block of the reserved type 3, which no inflater accepts.
    entries.push({ name: 'word/media/a.bin', method: 0, data: Buffer.concat([Buffer.from([0x07]), noise(99)]) });
    const archive = zip(entries);
    // Relabel the stored entry as deflated in both headers: its bytes are not a deflate stream.
    const local = archive.indexOf('word/media/a.bin') - 30;
    archive.writeUInt16LE(8, local + 8);
    const central = archive.lastIndexOf('word/media/a.bin') - 46;
    archive.writeUInt16LE(8, central + 10);
    await expect(inspect(archive)).resolves.toEqual(refused('the archive is damaged or malformed'));
  });

  it('should refuse entries that overlap (a reused payload)', async () => {
    const archive = zip([...docxEntries(), { name: 'word/a.bin', data: noise(1000) }]);
    // Point the last entry at the first one's data.
    const central = archive.lastIndexOf('word/a.bin') - 46;
    archive.writeUInt32LE(0, central + 42);
    await expect(inspect(archive)).resolves.toEqual(refused(/malformed|duplicate/));
  });

  it('should refuse truncated archives and non-zips', async () => {
    const archive = zip(docxEntries());
    await expect(inspect(archive.subarray(0, archive.length - 10))).resolves.toEqual(
      refused('the archive is truncated or not a zip archive'),
    );
    await expect(inspect(archive.subarray(0, archive.length / 2))).resolves.toEqual(
      refused('the archive is truncated or not a zip archive'),
    );
    await expect(inspect(Buffer.from('PK\x03\x04'))).resolves.toEqual(refused('the archive is truncated'));
    // Anything appended after the end record (or the end record's comment length lying).
    await expect(inspect(Buffer.concat([archive, Buffer.from('trailer')]))).resolves.toEqual(
      refused('the archive is truncated or not a zip archive'),
    );
  });

  it('should refuse a directory out of bounds or with data prepended', async () => {
    await expect(inspect(zip(docxEntries(), { centralDirectoryOffsetShift: 1000 }))).resolves.toEqual(
      refused('the archive directory is out of bounds'),
    );
    const prepended = Buffer.concat([Buffer.from('MZ self-extractor stub'), zip(docxEntries())]);
    await expect(inspect(prepended)).resolves.toEqual(refused('the archive directory is out of bounds'));
  });

  it('should refuse an end record that declares fewer entries than the directory holds', async () => {
    await expect(inspect(zip(docxEntries(), { declaredEntries: 2 }))).resolves.toEqual(
      refused('the archive is damaged or malformed'),
    );
  });

  it('should read a large entry in bounded ranges', async () => {
    const big = noise(3 * MiB);
    const entries: ZipEntrySpec[] = [...docxEntries(), { name: 'word/media/video.bin', data: big, method: 0 }];
    // Noise does not compress: over a MiB of deflate data to stream through the inflater.
    entries.push({ name: 'word/media/deflated.bin', data: big.subarray(0, 2 * MiB) });
    const archive = zip(entries);
    const { read, ranges } = memoryReader(archive);
    const verdict = await inspectOoxml(read, archive.length, LIMITS);
    expect(verdict).toMatchObject({ ok: true, type: 'docx', entries: 5 });
    expect(Math.max(...ranges.map(([start, end]) => end - start + 1))).toBeLessThanOrEqual(MiB);
    // Small entries share read-ahead windows: not two requests per entry.
    expect(ranges.length).toBeLessThan(20);
  });

  it('should fail, not judge, when storage fails', async () => {
    const archive = zip(docxEntries());
    const failing = (): Promise<Buffer> => Promise.reject(new Error('storage unavailable'));
    await expect(inspectOoxml(failing, archive.length, LIMITS)).rejects.toThrow('storage unavailable');
  });
});
