import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { buildZip, docxEntries, xlsxEntries } from '../../src/core/files/testing/zip-fixture';
import type { MediaType } from '../../src/core/files/media-types';
import { bearer } from '../helpers/auth';

/** A multipart/form-data body with one file part (what a browser's FormData sends). */
export function multipart(
  file: { data: Buffer; filename?: string; contentType?: string; field?: string },
  fields: Record<string, string> = {},
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----atrium${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  const filename = file.filename === undefined ? '' : `; filename="${file.filename}"`;
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${file.field ?? 'file'}"${filename}\r\n` +
        `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`,
    ),
    file.data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** POST /api/v1/media through inject. */
export function upload(
  app: NestFastifyApplication,
  token: string,
  file: { data: Buffer; filename?: string; contentType?: string; field?: string },
  query = '',
) {
  const { payload, headers } = multipart(file);
  return app.inject({
    method: 'POST',
    url: `/api/v1/media${query}`,
    payload,
    headers: { ...headers, ...bearer(token) },
  });
}

/** The GPS position planted into sample JPEGs; it must never come back out. */
export const GPS_MARKER = 'AtriumSecretPlace';

/** A JPEG with EXIF (including GPS tags and a marker string) that a phone would write. */
export async function jpegWithGps(width = 640, height = 480): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .jpeg()
    .withExif({
      IFD0: { ImageDescription: GPS_MARKER, Make: 'AtriumPhone' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 2399/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 17/1 4023/100',
      },
    })
    .toBuffer();
}

export function png(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 120, b: 255, alpha: 1 } } })
    .png()
    .withMetadata({})
    .toBuffer();
}

/** A PNG carrying `data` in a private ancillary chunk (kept by the metadata stripper, seen by a scanner). */
export async function pngWithChunk(data: Buffer, type = 'atRm'): Promise<Buffer> {
  const image = await png();
  const iend = image.length - 12;
  const header = Buffer.alloc(8);
  header.writeUInt32BE(data.length, 0);
  header.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([header.subarray(4), data])), 0);
  return Buffer.concat([image.subarray(0, iend), header, data, crc, image.subarray(iend)]);
}

export function gif(): Promise<Buffer> {
  return sharp({ create: { width: 32, height: 32, channels: 3, background: '#22aa44' } })
    .gif()
    .toBuffer();
}

export function pdf(text = 'Hello Atrium'): Buffer {
  return Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n` +
      `% ${text}\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
  );
}

/** An ISO BMFF file with an mp4 brand: ftyp box then an mdat box of `payloadBytes`. */
export function mp4(payloadBytes = 1024): Buffer {
  const ftyp = Buffer.concat([
    Buffer.from([0, 0, 0, 24]),
    Buffer.from('ftypisom'),
    Buffer.from([0, 0, 2, 0]),
    Buffer.from('isomiso2'),
  ]);
  const mdatHeader = Buffer.alloc(8);
  mdatHeader.writeUInt32BE(payloadBytes + 8, 0);
  mdatHeader.write('mdat', 4);
  return Buffer.concat([ftyp, mdatHeader, Buffer.alloc(payloadBytes, 7)]);
}

export const docx = (): Buffer => buildZip(docxEntries());
export const xlsx = (): Buffer => buildZip(xlsxEntries());

/** A plain zip that is no Office document. */
export const plainZip = (): Buffer => buildZip([{ name: 'notes.txt', data: 'just a zip' }]);

/** A Windows executable's first bytes. */
export function exe(): Buffer {
  const data = Buffer.alloc(2048, 0);
  data.write('MZ', 0);
  data.write('This program cannot be run in DOS mode.', 78);
  return data;
}

/** One valid sample per accepted type, with a fitting name. */
export async function samples(): Promise<Record<MediaType, { data: Buffer; filename: string }>> {
  return {
    jpg: { data: await jpegWithGps(), filename: 'holiday.jpg' },
    png: { data: await png(), filename: 'diagram.png' },
    gif: { data: await gif(), filename: 'loop.gif' },
    pdf: { data: pdf(), filename: 'report.pdf' },
    docx: { data: docx(), filename: 'letter.docx' },
    xlsx: { data: xlsx(), filename: 'budget.xlsx' },
    mp4: { data: mp4(), filename: 'clip.mp4' },
  };
}
