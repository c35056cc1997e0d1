import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { DataSource } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import { MEDIA_TYPE_INFO, MEDIA_TYPES, type MediaType } from '../../src/core/files/media-types';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { expectProblem } from '../helpers/problem';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver';
import { createTestApp } from '../helpers/test-app';
import { docx, exe, GPS_MARKER, jpegWithGps, multipart, pdf, plainZip, png, samples, upload } from './media-fixtures';
import { storedBytes, storedKeys } from './media-storage-probe';

interface MediaBody {
  id: string;
  filename: string;
  type: MediaType;
  mimeType: string;
  size: number;
  sha256: string;
  scanStatus: string;
  usable: boolean;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe.each(['local', 'minio'] as const)('Media uploads (%s storage)', (driver) => {
  let s3: S3rverHandle | undefined;
  let env: RawEnv;
  let app: NestFastifyApplication;
  let owner: TestAccount;

  const objectKeyOf = async (id: string) => {
    const [row] = await app
      .get(DataSource)
      .query<{ object_key: string }[]>('SELECT object_key FROM media WHERE id = $1', [id]);
    return row.object_key;
  };
  const orgPrefix = () => `org/${owner.organizationId}/`;
  const mediaCount = async () => {
    const [row] = await app
      .get(DataSource)
      .query<{ n: string }[]>('SELECT count(*) AS n FROM media WHERE organization_id = $1', [owner.organizationId]);
    return Number(row.n);
  };

  beforeAll(async () => {
    env = {};
    if (driver === 'minio') {
      s3 = await startS3rver('atrium-media-test');
      env = {
        STORAGE_DRIVER: 'minio',
        MINIO_ENDPOINT: '127.0.0.1',
        MINIO_PORT: String(s3.port),
        MINIO_ACCESS_KEY: s3.accessKey,
        MINIO_SECRET_KEY: s3.secretKey,
        MINIO_BUCKET: s3.bucket,
      };
    }
    app = await createTestApp(env);
    owner = await registerOwner(app, `media-${driver}`);
  });

  afterAll(async () => {
    await app?.close();
    await s3?.close();
  });

  it.each(MEDIA_TYPES)(
    'should accept a %s file, typed from its bytes, and store it under a generated key',
    async (type) => {
      const sample = (await samples())[type];
      const res = await upload(app, owner.accessToken, { ...sample, contentType: MEDIA_TYPE_INFO[type].mime });
      expect(res.statusCode).toBe(201);
      const body = res.json<MediaBody>();
      expect(body).toMatchObject({
        type,
        mimeType: MEDIA_TYPE_INFO[type].mime,
        filename: sample.filename,
        usable: true,
      });
      expect(body.scanStatus).toBe('skipped');
      const key = await objectKeyOf(body.id);
      expect(key).toMatch(new RegExp(`^org/${owner.organizationId}/\\d{4}/\\d{2}/${body.id}$`));
      const stored = await storedBytes(app, key);
      expect(body.size).toBe(stored.length);
      expect(body.sha256).toBe(sha256(stored));
      // JPEG and PNG lose their metadata on the way in; everything else is stored byte for byte.
      if (type !== 'jpg' && type !== 'png') expect(stored.equals(sample.data)).toBe(true);
      expect(JSON.stringify(res.json())).not.toContain(key);
    },
  );

  it('should detect the type when the client claims nothing (no extension, octet-stream)', async () => {
    const res = await upload(app, owner.accessToken, { data: await png(), filename: 'scan' });
    expect(res.statusCode).toBe(201);
    expect(res.json<MediaBody>().type).toBe('png');
  });

  it.each([
    ['an executable renamed .png', () => ({ data: exe(), filename: 'cute-cat.png', contentType: 'image/png' })],
    ['a PNG named .pdf', async () => ({ data: await png(), filename: 'invoice.pdf' })],
    [
      'a PNG claimed as application/pdf',
      async () => ({ data: await png(), filename: 'invoice', contentType: 'application/pdf' }),
    ],
    ['a zip that is not a docx', () => ({ data: plainZip(), filename: 'contract.docx' })],
    ['a docx named .xlsx', () => ({ data: docx(), filename: 'numbers.xlsx' })],
    [
      'an HTML page named .jpg',
      () => ({ data: Buffer.from('<!doctype html><script>alert(1)</script>'), filename: 'x.jpg' }),
    ],
    ['a PDF with an unlisted extension', () => ({ data: pdf(), filename: 'report.exe' })],
  ])('should refuse %s with 415 and store nothing', async (_what, file) => {
    const before = await storedKeys(app, orgPrefix());
    const count = await mediaCount();
    const res = await upload(app, owner.accessToken, await file());
    const problem = expectProblem(res, 415, 'media-unsupported-type');
    expect(problem.field).toBe('file');
    expect(problem.allowed).toEqual([...MEDIA_TYPES]);
    expect(await storedKeys(app, orgPrefix())).toEqual(before);
    expect(await mediaCount()).toBe(count);
  });

  it('should name the disguise in the 415', async () => {
    const res = await upload(app, owner.accessToken, { data: exe(), filename: 'cute-cat.png' });
    expect(expectProblem(res, 415, 'media-unsupported-type').detail).toMatch(/executable/i);
  });

  it('should strip EXIF, GPS included, from a JPEG before it is stored', async () => {
    const original = await jpegWithGps(800, 600);
    expect(original.includes(GPS_MARKER)).toBe(true);
    expect((await sharp(original).metadata()).exif).toBeDefined();
    const res = await upload(app, owner.accessToken, { data: original, filename: 'phone.jpg' });
    expect(res.statusCode).toBe(201);
    const stored = await storedBytes(app, await objectKeyOf(res.json<MediaBody>().id));
    expect(stored.includes(GPS_MARKER)).toBe(false);
    expect(stored.includes(Buffer.from('Exif\0\0'))).toBe(false);
    const metadata = await sharp(stored).metadata();
    expect(metadata.exif).toBeUndefined();
    expect([metadata.width, metadata.height]).toEqual([800, 600]);
  });

  it('should sanitize the file name for display and never use it in the key', async () => {
    const res = await upload(app, owner.accessToken, { data: pdf(), filename: '../..\\etc\\passwd\u202Efdp.pdf' });
    expect(res.statusCode).toBe(201);
    const body = res.json<MediaBody>();
    expect(body.filename).not.toMatch(/[\\/"\u202E]/);
    expect(body.filename.endsWith('.pdf')).toBe(true);
    expect(await objectKeyOf(body.id)).toMatch(new RegExp(`/${body.id}$`));
  });

  it('should refuse a request without a file part, and a JSON body, with 400 naming file', async () => {
    const fieldOnly = multipart({ data: await png(), filename: 'a.png', field: 'attachment' });
    const wrongField = await app.inject({
      method: 'POST',
      url: '/api/v1/media',
      payload: fieldOnly.payload,
      headers: { ...fieldOnly.headers, ...bearer(owner.accessToken) },
    });
    expect(expectProblem(wrongField, 400, 'media-file-missing').field).toBe('file');
    const json = await app.inject({
      method: 'POST',
      url: '/api/v1/media',
      payload: { file: 'aGVsbG8=' },
      headers: bearer(owner.accessToken),
    });
    expect(expectProblem(json, 400, 'media-file-missing').field).toBe('file');
  });

  it('should refuse an empty file with 400', async () => {
    const res = await upload(app, owner.accessToken, { data: Buffer.alloc(0), filename: 'empty.png' });
    expectProblem(res, 400, 'media-file-missing');
  });

  it('should require authentication', async () => {
    const { payload, headers } = multipart({ data: pdf(), filename: 'a.pdf' });
    const res = await app.inject({ method: 'POST', url: '/api/v1/media', payload, headers });
    expectProblem(res, 401, 'missing-token');
  });

  describe('with small per-type limits', () => {
    let limited: NestFastifyApplication;
    let account: TestAccount;

    beforeAll(async () => {
      limited = await createTestApp({ ...env, MEDIA_MAX_BYTES_PNG: '3000', MEDIA_MAX_BYTES_DOCX: '400' });
      account = await registerOwner(limited, `media-limits-${driver}`);
    });

    afterAll(() => limited.close());

    it('should refuse a file over its type’s limit with 413 and leave no partial object', async () => {
      const noise = await sharp(Buffer.from(Array.from({ length: 120 * 120 * 3 }, (_, i) => (i * 7919) % 251)), {
        raw: { width: 120, height: 120, channels: 3 },
      })
        .png({ compressionLevel: 0 })
        .toBuffer();
      expect(noise.length).toBeGreaterThan(3000);
      const res = await upload(limited, account.accessToken, { data: noise, filename: 'big.png' });
      const problem = expectProblem(res, 413, 'media-too-large');
      expect(problem).toMatchObject({ field: 'file', mediaType: 'png', maxBytes: 3000 });
      expect(await storedKeys(limited, `org/${account.organizationId}/`)).toEqual([]);
    });

    it('should apply the docx limit once the archive shows it is a docx', async () => {
      const archive = docx();
      expect(archive.length).toBeGreaterThan(400);
      const res = await upload(limited, account.accessToken, { data: archive, filename: 'letter.docx' });
      expect(expectProblem(res, 413, 'media-too-large')).toMatchObject({ mediaType: 'docx', maxBytes: 400 });
      expect(await storedKeys(limited, `org/${account.organizationId}/`)).toEqual([]);
    });

    it('should still take a file of another type within its own limit', async () => {
      const res = await upload(limited, account.accessToken, { data: pdf('x'.repeat(5000)), filename: 'long.pdf' });
      expect(res.statusCode).toBe(201);
    });
  });
});
