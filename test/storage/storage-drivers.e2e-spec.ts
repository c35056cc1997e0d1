import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import { Client } from 'minio';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createApiApp } from '../../src/api-app';
import type { AppConfig } from '../../src/config/app.config';
import { ConfigModule } from '../../src/config/config.module';
import type { RawEnv } from '../../src/config/env-var';
import { LocalDiskStorage } from '../../src/core/storage/local-disk.storage';
import { LocalLinkSigner } from '../../src/core/storage/local-link-signer';
import { LocalStorageModule } from '../../src/modules/media/local-storage.module';
import { MinioStorage } from '../../src/core/storage/minio.storage';
import { ObjectNotFoundError, ObjectStorage } from '../../src/core/storage/object-storage';
import { StorageModule } from '../../src/core/storage/storage.module';
import { expectProblem } from '../helpers/problem';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver';
import { testConfig } from '../helpers/test-app';

const MiB = 1024 * 1024;
const SIGNING_SECRET = 'storage-contract-signing-secret';
const PUBLIC_URL = 'http://files.atrium.test:3000';
const CONTRACT_BUCKET = 'atrium-contract';
const MULTIPART_CAP = 400 * 1024;

interface Fetched {
  status: number;
  header(name: string): string | undefined;
  body: Buffer;
}

/** One driver behind the contract: the storage, and how a client (browser) would follow its links. */
interface Harness {
  storage: ObjectStorage;
  download(url: string, headers?: Record<string, string>): Promise<Fetched>;
  postForm(url: string, fields: Record<string, string>, file: Buffer): Promise<Fetched>;
  /** The validity the link itself carries (X-Amz-Expires, or the token's exp minus now). */
  signedLifetimeSeconds(url: string): number;
  close(): Promise<void>;
}

/** A browser's FormData: every field, then the file as `file`. */
async function formBody(fields: Record<string, string>, file: Buffer): Promise<{ payload: Buffer; type: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([file]), 'upload.bin');
  const request = new Request('http://form.invalid/', { method: 'POST', body: form });
  return { payload: Buffer.from(await request.arrayBuffer()), type: request.headers.get('content-type') ?? '' };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `size` random bytes produced 64 KiB at a time (never whole in memory) and their sha256 once consumed. */
function generated(size: number): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  function* chunks(): Generator<Buffer> {
    for (let sent = 0; sent < size;) {
      const chunk = randomBytes(Math.min(64 * 1024, size - sent));
      hash.update(chunk);
      sent += chunk.length;
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks()), sha256: () => hash.digest('hex') };
}

/** Sends `bytes` random bytes, then fails with `error` (or is destroyed without one). */
function failingAfter(bytes: number, error?: Error): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) {
        this.destroy(error);
        return;
      }
      const chunk = randomBytes(Math.min(64 * 1024, bytes - sent));
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function minioEnv(s3: S3rverHandle, bucket: string): RawEnv {
  return {
    STORAGE_DRIVER: 'minio',
    MINIO_ENDPOINT: '127.0.0.1',
    MINIO_PORT: String(s3.port),
    MINIO_ACCESS_KEY: s3.accessKey,
    MINIO_SECRET_KEY: s3.secretKey,
    MINIO_BUCKET: bucket,
  };
}

/** The API with the storage modules (listed here too so this spec does not rely on AppModule's wiring). */
async function createStorageApp(env: RawEnv): Promise<NestFastifyApplication> {
  const app = await createApiApp(testConfig(env), { extraModules: [StorageModule, LocalStorageModule] });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

function fromInject(res: LightMyRequestResponse): Fetched {
  return {
    status: res.statusCode,
    header: (name) => {
      const value = res.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value?.toString();
    },
    body: res.rawPayload,
  };
}

async function fromFetch(res: Response): Promise<Fetched> {
  return {
    status: res.status,
    header: (name) => res.headers.get(name) ?? undefined,
    body: Buffer.from(await res.arrayBuffer()),
  };
}

async function minioHarness(): Promise<Harness & { s3: S3rverHandle }> {
  // s3rver starts with a bucket of its own; the contract's bucket is left for ensureReady to create.
  const s3 = await startS3rver('atrium-contract-seed');
  const storage = new MinioStorage({
    endPoint: '127.0.0.1',
    port: s3.port,
    useSSL: false,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    bucket: CONTRACT_BUCKET,
    region: 'us-east-1',
    partSizeBytes: 5 * MiB,
  });
  return {
    s3,
    storage,
    download: async (url, headers = {}) => fromFetch(await fetch(url, { headers })),
    postForm: async (url, fields, file) => {
      const { payload, type } = await formBody(fields, file);
      return fromFetch(await fetch(url, { method: 'POST', body: payload, headers: { 'content-type': type } }));
    },
    signedLifetimeSeconds: (url) => Number(new URL(url).searchParams.get('X-Amz-Expires')),
    close: () => s3.close(),
  };
}

async function localHarness(): Promise<Harness & { app: NestFastifyApplication; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'atrium-storage-contract-'));
  const app = await createStorageApp({
    STORAGE_DRIVER: 'local',
    STORAGE_LOCAL_DIR: dir,
    STORAGE_LOCAL_PUBLIC_URL: PUBLIC_URL,
    STORAGE_SIGNING_SECRET: SIGNING_SECRET,
    // The server-wide multipart cap is the largest of these (+1): low enough for a test to cross it.
    ...Object.fromEntries(
      ['JPG', 'PNG', 'GIF', 'PDF', 'DOCX', 'XLSX', 'MP4'].map((type) => [
        `MEDIA_MAX_BYTES_${type}`,
        String(MULTIPART_CAP),
      ]),
    ),
  });
  const signer = new LocalLinkSigner(SIGNING_SECRET);
  const pathOf = (url: string) => {
    expect(url.startsWith(`${PUBLIC_URL}/api/v1/storage/local/`)).toBe(true);
    return new URL(url).pathname;
  };
  return {
    app,
    dir,
    storage: app.get(ObjectStorage),
    download: async (url, headers = {}) => fromInject(await app.inject({ method: 'GET', url: pathOf(url), headers })),
    postForm: async (url, fields, file) => {
      const { payload, type } = await formBody(fields, file);
      return fromInject(
        await app.inject({ method: 'POST', url: pathOf(url), payload, headers: { 'content-type': type } }),
      );
    },
    signedLifetimeSeconds: (url) => {
      const token = pathOf(url).split('/').pop() ?? '';
      return signer.verify(token, 'get').exp - Math.floor(Date.now() / 1000);
    },
    close: async () => {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const HARNESSES = { minio: minioHarness, local: localHarness };

describe.each(['minio', 'local'] as const)('ObjectStorage contract (%s driver)', (driver) => {
  let harness: Harness;
  let storage: ObjectStorage;
  const key = (name: string) => `org/contract/2026/01/${name}-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    harness = await HARNESSES[driver]();
    storage = harness.storage;
    await storage.ensureReady();
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('should report its driver', () => {
    expect(storage.driver).toBe(driver);
  });

  it('should store, stat, read, range-read and remove an object, removing idempotently', async () => {
    const k = key('basic');
    const content = Buffer.from('0123456789abcdef');
    await storage.put(k, Readable.from([content.subarray(0, 5), content.subarray(5)]), 'text/plain');

    const stat = await storage.stat(k);
    expect(stat).toEqual({ size: content.length, lastModified: expect.any(Date) });
    expect(Math.abs(stat!.lastModified.getTime() - Date.now())).toBeLessThan(60_000);
    expect((await readAll(await storage.get(k))).equals(content)).toBe(true);
    expect((await readAll(await storage.get(k, { start: 2, end: 5 }))).toString()).toBe('2345');
    expect((await readAll(await storage.get(k, { start: 15, end: 15 }))).toString()).toBe('f');

    await storage.remove(k);
    expect(await storage.stat(k)).toBeNull();
    await expect(storage.get(k)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(storage.remove(k)).resolves.toBeUndefined();
  });

  it('should store an empty object', async () => {
    const k = key('empty');
    await storage.put(k, Readable.from([]), 'application/octet-stream');
    expect(await storage.stat(k)).toMatchObject({ size: 0 });
    expect((await readAll(await storage.get(k))).length).toBe(0);
  });

  it('should answer null and ObjectNotFoundError when an object was never stored', async () => {
    const k = key('never');
    expect(await storage.stat(k)).toBeNull();
    await expect(storage.get(k)).rejects.toMatchObject({ name: 'ObjectNotFoundError', key: k });
    await expect(storage.get(k, { start: 0, end: 1 })).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('should treat a prefix of stored keys as no object', async () => {
    const k = key('nested');
    await storage.put(`${k}/child`, Readable.from([Buffer.from('x')]), 'text/plain');
    expect(await storage.stat(k)).toBeNull();
    await expect(storage.get(k)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(storage.remove(k)).resolves.toBeUndefined();
    expect(await storage.stat(`${k}/child`)).toMatchObject({ size: 1 });
  });

  it.each([
    ['a small body (one part)', 100 * 1024],
    ['a body past the first part', 6 * MiB],
  ])('should reject with the stream error and keep nothing when %s errors', async (_, bytes) => {
    const k = key('failing');
    const boom = new Error('client went away');
    await expect(storage.put(k, failingAfter(bytes, boom), 'application/octet-stream')).rejects.toBe(boom);
    expect(await storage.stat(k)).toBeNull();
  });

  it('should reject and keep nothing when the body is destroyed without an error', async () => {
    const k = key('destroyed');
    await expect(storage.put(k, failingAfter(200 * 1024), 'application/octet-stream')).rejects.toThrow();
    expect(await storage.stat(k)).toBeNull();
  });

  it('should round-trip a 20 MB streamed object with the same sha256', async () => {
    const k = key('large');
    const source = generated(20 * MiB);
    await storage.put(k, source.stream, 'application/octet-stream');
    const written = source.sha256();

    expect(await storage.stat(k)).toMatchObject({ size: 20 * MiB });
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of await storage.get(k)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    expect({ size, sha256: hash.digest('hex') }).toEqual({ size: 20 * MiB, sha256: written });
    await storage.remove(k);
  });

  it('should serve a presigned download with the signed type and disposition for the given time', async () => {
    const k = key('download');
    const content = randomBytes(3000);
    await storage.put(k, Readable.from([content]), 'application/octet-stream');
    const disposition = `attachment; filename="report.pdf"; filename*=UTF-8''r%C3%A9port.pdf`;
    const before = Date.now();
    const link = await storage.presignGet(k, {
      expiresInSeconds: 120,
      contentType: 'application/pdf',
      contentDisposition: disposition,
    });

    expect(harness.signedLifetimeSeconds(link.url)).toBeGreaterThanOrEqual(119);
    expect(harness.signedLifetimeSeconds(link.url)).toBeLessThanOrEqual(120);
    if (driver === 'minio') expect(new URL(link.url).searchParams.get('X-Amz-Expires')).toBe('120');
    expect(link.expiresAt.getTime()).toBeGreaterThan(before + 118_000);
    expect(link.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 120_000);

    const res = await harness.download(link.url);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(content));
    expect(res.header('content-disposition')).toBe(disposition);
    expect(res.header('content-type')).toBe('application/pdf');
  });

  it('should refuse a presigned download once it has expired', async () => {
    const k = key('expiring');
    await storage.put(k, Readable.from([Buffer.from('soon gone')]), 'text/plain');
    const link = await storage.presignGet(k, {
      expiresInSeconds: 1,
      contentType: 'text/plain',
      contentDisposition: 'inline',
    });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const res = await harness.download(link.url);
    expect(res.status).toBe(403);
    expect(res.body.toString()).not.toContain('soon gone');
  });

  it('should store the file of a browser-style multipart POST to a presigned upload', async () => {
    const k = key('posted');
    const content = randomBytes(5000);
    const before = Date.now();
    const post = await storage.presignPost(k, { expiresInSeconds: 300, minBytes: 1, maxBytes: 10_000 });
    expect(post.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 299_000);
    expect(post.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 300_000);

    const res = await harness.postForm(post.url, post.fields, content);
    expect([200, 201, 204]).toContain(res.status);
    expect(await storage.stat(k)).toMatchObject({ size: content.length });
    expect((await readAll(await storage.get(k))).equals(content)).toBe(true);
  });
});

describe('MinioStorage specifics', () => {
  let harness: Awaited<ReturnType<typeof minioHarness>>;

  beforeAll(async () => {
    harness = await minioHarness();
    await harness.storage.ensureReady();
  });

  afterAll(async () => {
    await harness?.close();
  });

  const rawClient = () =>
    new Client({
      endPoint: '127.0.0.1',
      port: harness.s3.port,
      useSSL: false,
      accessKey: harness.s3.accessKey,
      secretKey: harness.s3.secretKey,
      region: 'us-east-1',
    });

  it('should have created the missing bucket when made ready, and accept being made ready again', async () => {
    await expect(rawClient().bucketExists(CONTRACT_BUCKET)).resolves.toBe(true);
    await expect(harness.storage.ensureReady()).resolves.toBeUndefined();
  });

  it('should store the content type given to put', async () => {
    const k = 'org/contract/typed';
    await harness.storage.put(k, Readable.from([Buffer.from('{}')]), 'application/json');
    await harness.storage.put(`${k}-large`, generated(6 * MiB).stream, 'video/mp4');
    expect((await rawClient().statObject(CONTRACT_BUCKET, k)).metaData).toMatchObject({
      'content-type': 'application/json',
    });
    expect((await rawClient().statObject(CONTRACT_BUCKET, `${k}-large`)).metaData).toMatchObject({
      'content-type': 'video/mp4',
    });
  });

  it('should sign a POST policy for exactly the key, the size range and the expiry', async () => {
    const k = 'org/contract/policy';
    const post = await harness.storage.presignPost(k, { expiresInSeconds: 600, minBytes: 10, maxBytes: 2048 });
    expect(post.fields).toMatchObject({ key: k, bucket: CONTRACT_BUCKET, 'x-amz-algorithm': 'AWS4-HMAC-SHA256' });
    expect(Object.keys(post.fields)).toEqual(
      expect.arrayContaining(['policy', 'x-amz-credential', 'x-amz-date', 'x-amz-signature']),
    );
    const policy = JSON.parse(Buffer.from(post.fields.policy, 'base64').toString()) as {
      expiration: string;
      conditions: unknown[];
    };
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['eq', '$key', k],
        ['eq', '$bucket', CONTRACT_BUCKET],
        ['content-length-range', 10, 2048],
      ]),
    );
    expect(new Date(policy.expiration).getTime()).toBe(post.expiresAt.getTime());
    expect(post.url).toBe(`http://127.0.0.1:${harness.s3.port}/${CONTRACT_BUCKET}`);
  });

  it('should sign links for MINIO_PUBLIC_URL without any network call', async () => {
    // Neither host is reachable: any request (e.g. a bucket-location lookup) would fail the presign.
    const offline = new MinioStorage({
      endPoint: '127.0.0.1',
      port: await freePort(),
      useSSL: false,
      accessKey: 'key',
      secretKey: 'secret-key',
      bucket: 'media',
      region: 'eu-central-1',
      publicUrl: 'https://files.atrium.invalid',
      partSizeBytes: 5 * MiB,
    });
    const get = await offline.presignGet('org/a/b', {
      expiresInSeconds: 60,
      contentType: 'image/png',
      contentDisposition: 'inline',
    });
    const url = new URL(get.url);
    expect(`${url.origin}${url.pathname}`).toBe('https://files.atrium.invalid/media/org/a/b');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^key\/\d{8}\/eu-central-1\/s3\/aws4_request$/);
    expect(url.searchParams.get('response-content-type')).toBe('image/png');
    const post = await offline.presignPost('org/a/b', { expiresInSeconds: 60, minBytes: 1, maxBytes: 10 });
    expect(post.url).toBe('https://files.atrium.invalid/media');
  });

  it('should refuse a MINIO_PUBLIC_URL with a path (S3 signs the path)', () => {
    expect(
      () =>
        new MinioStorage({
          endPoint: '127.0.0.1',
          port: 9000,
          useSSL: false,
          accessKey: 'key',
          secretKey: 'secret-key',
          bucket: 'media',
          region: 'us-east-1',
          publicUrl: 'https://example.test/s3',
          partSizeBytes: 5 * MiB,
        }),
    ).toThrow(/bare origin/);
  });
});

describe(StorageModule.name, () => {
  const init = async (config: AppConfig) => {
    const module = await Test.createTestingModule({ imports: [ConfigModule.forRoot(config), StorageModule] }).compile();
    try {
      await module.init();
      return module.get(ObjectStorage);
    } finally {
      await module.close();
    }
  };

  it('should fail start-up with a message naming the store when MinIO cannot be reached', async () => {
    const port = await freePort();
    const config = testConfig({ STORAGE_DRIVER: 'minio', MINIO_ENDPOINT: '127.0.0.1', MINIO_PORT: String(port) });
    await expect(init(config)).rejects.toThrow(
      new RegExp(`Object storage is not usable: MinIO/S3 bucket atrium at http://127.0.0.1:${port} .*ECONNREFUSED`),
    );
  });

  it('should provide the local driver and create its folder when STORAGE_DRIVER=local', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'atrium-storage-module-')), 'nested', 'store');
    try {
      const storage = await init(testConfig({ STORAGE_DRIVER: 'local', STORAGE_LOCAL_DIR: dir }));
      expect(storage).toBeInstanceOf(LocalDiskStorage);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(join(dir, '..', '..'), { recursive: true, force: true });
    }
  });
});

describe('Local storage links (HTTP)', () => {
  let harness: Awaited<ReturnType<typeof localHarness>>;
  let storage: LocalDiskStorage;
  const url = (link: string) => new URL(link).pathname;

  beforeAll(async () => {
    harness = await localHarness();
    storage = harness.storage as LocalDiskStorage;
  });

  afterAll(async () => {
    await harness?.close();
  });

  const stored = async (name: string, content: Buffer) => {
    const k = `org/links/${name}`;
    await storage.put(k, Readable.from([content]), 'application/octet-stream');
    return k;
  };
  const downloadLink = async (k: string) =>
    (await storage.presignGet(k, { expiresInSeconds: 60, contentType: 'video/mp4', contentDisposition: 'inline' })).url;

  it('should document both routes as public, with the token as the one path parameter', async () => {
    type Operation = { parameters: { name: string; in: string }[]; security?: unknown; tags: string[] };
    const paths = (await harness.app.inject('/docs-json')).json<{ paths: Record<string, Record<string, Operation>> }>()
      .paths;
    const item = paths['/api/v1/storage/local/{path}'];
    for (const method of ['get', 'post']) {
      expect({ method, ...item[method] }).toMatchObject({ method, tags: ['storage'] });
      expect(item[method].parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(['path']);
      expect(item[method].security).toBeUndefined();
    }
  });

  it('should send the security and caching headers with a download', async () => {
    const res = await harness.app.inject({ url: url(await downloadLink(await stored('headers', randomBytes(1234)))) });
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({
      'content-type': 'video/mp4',
      'content-disposition': 'inline',
      'content-length': '1234',
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
      'accept-ranges': 'bytes',
    });
  });

  it.each([
    ['bytes=10-19', 206, 10, 19],
    ['bytes=90-', 206, 90, 99],
    ['bytes=-5', 206, 95, 99],
    ['bytes=95-500', 206, 95, 99],
    ['bytes=0-1,5-6', 200, 0, 99],
    ['bytes=5-2', 200, 0, 99],
    ['items=0-1', 200, 0, 99],
  ])('should answer Range %s with %i and bytes %i-%i', async (range, status, start, end) => {
    const content = randomBytes(100);
    const res = await harness.app.inject({
      url: url(await downloadLink(await stored(`range-${status}-${start}-${end}`, content))),
      headers: { range },
    });
    expect(res.statusCode).toBe(status);
    expect(res.rawPayload.equals(content.subarray(start, end + 1))).toBe(true);
    expect(res.headers['content-length']).toBe(String(end - start + 1));
    if (status === 206) expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/100`);
  });

  it('should answer 416 with the size when the range starts past the end', async () => {
    const res = await harness.app.inject({
      url: url(await downloadLink(await stored('range-416', randomBytes(100)))),
      headers: { range: 'bytes=100-' },
    });
    expectProblem(res, 416, 'range-not-satisfiable');
    expect(res.headers['content-range']).toBe('bytes */100');
  });

  it('should refuse forged, expired and cross-operation links with 403, and malformed ones with 400', async () => {
    const k = await stored('guarded', Buffer.from('secret'));
    const signer = new LocalLinkSigner(SIGNING_SECRET);
    const forger = new LocalLinkSigner('not-the-signing-secret');
    const claims = { key: k, contentType: 'text/plain', contentDisposition: 'inline' };
    const future = Math.floor(Date.now() / 1000) + 60;
    const cases: [string, string, string, number, string][] = [
      ['forged', 'GET', forger.sign({ op: 'get', exp: future, ...claims }), 403, 'bad-signature'],
      ['expired', 'GET', signer.sign({ op: 'get', exp: future - 120, ...claims }), 403, 'expired'],
      [
        'upload link',
        'GET',
        signer.sign({ op: 'put', key: k, exp: future, minBytes: 0, maxBytes: 9 }),
        403,
        'wrong-operation',
      ],
      ['download link', 'POST', signer.sign({ op: 'get', exp: future, ...claims }), 403, 'wrong-operation'],
    ];
    for (const [name, method, token, status, reason] of cases) {
      const res = await harness.app.inject({ method: method as 'GET', url: `/api/v1/storage/local/${token}` });
      expect({ name, ...expectProblem(res, status, 'storage-link-invalid') }).toMatchObject({ name, reason });
      expect(res.body).not.toContain('secret"');
    }
    for (const method of ['GET', 'POST'] as const) {
      expectProblem(
        await harness.app.inject({ method, url: '/api/v1/storage/local/unknown' }),
        400,
        'storage-link-malformed',
      );
    }
  });

  it('should answer 404 when the object of a genuine link does not exist', async () => {
    const res = await harness.app.inject({ url: url(await downloadLink('org/links/never-written')) });
    expectProblem(res, 404, 'storage-object-not-found');
  });

  it('should refuse an upload over the signed maximum with 413 and keep nothing', async () => {
    const k = 'org/links/too-large';
    const post = await storage.presignPost(k, { expiresInSeconds: 60, minBytes: 1, maxBytes: 1000 });
    const res = await harness.postForm(post.url, post.fields, randomBytes(300 * 1024));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body.toString())).toMatchObject({ type: 'urn:atrium:problem:storage-upload-too-large' });
    expect(await storage.stat(k)).toBeNull();
    expect(await readdir(join(harness.dir, 'org', 'links'))).not.toContainEqual(expect.stringMatching(/too-large/));
  });

  it('should let the signed maximum, not the server-wide multipart cap, decide the size (no silent cut)', async () => {
    const allowed = await storage.presignPost('org/links/over-cap', {
      expiresInSeconds: 60,
      minBytes: 1,
      maxBytes: 3 * MULTIPART_CAP,
    });
    const content = randomBytes(2 * MULTIPART_CAP);
    expect((await harness.postForm(allowed.url, allowed.fields, content)).status).toBe(204);
    expect(sha256(await readAll(await storage.get('org/links/over-cap')))).toBe(sha256(content));

    const refused = await storage.presignPost('org/links/over-both', {
      expiresInSeconds: 60,
      minBytes: 1,
      maxBytes: 2 * MULTIPART_CAP,
    });
    expect((await harness.postForm(refused.url, refused.fields, randomBytes(3 * MULTIPART_CAP))).status).toBe(413);
    expect(await storage.stat('org/links/over-both')).toBeNull();
  });

  it('should answer 413 over a real connection while the client is still sending, and keep nothing', async () => {
    await harness.app.listen(0, '127.0.0.1');
    const base = await harness.app.getUrl();
    const k = 'org/links/streamed-too-large';
    const post = await storage.presignPost(k, { expiresInSeconds: 60, minBytes: 1, maxBytes: 64 * 1024 });
    const { payload, type } = await formBody(post.fields, randomBytes(MULTIPART_CAP - 1024));
    const res = await fetch(`${base}${url(post.url)}`, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': type },
    }).catch((error: unknown) => error as Error);
    // The server may close the connection before the client finished sending; then fetch fails instead.
    if (res instanceof Response) expect(res.status).toBe(413);
    expect(await storage.stat(k)).toBeNull();
    const after = await fetch(`${base}${url(await downloadLink(await stored('after-413', Buffer.from('ok'))))}`);
    expect(await after.text()).toBe('ok');
  });

  it('should refuse an upload under the signed minimum with 400 and keep nothing', async () => {
    const k = 'org/links/too-small';
    const post = await storage.presignPost(k, { expiresInSeconds: 60, minBytes: 100, maxBytes: 1000 });
    const res = await harness.postForm(post.url, post.fields, randomBytes(99));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ type: 'urn:atrium:problem:storage-upload-too-small' });
    expect(await storage.stat(k)).toBeNull();
  });

  it('should accept an upload of exactly the signed maximum', async () => {
    const k = 'org/links/exact';
    const post = await storage.presignPost(k, { expiresInSeconds: 60, minBytes: 1000, maxBytes: 1000 });
    expect((await harness.postForm(post.url, post.fields, randomBytes(1000))).status).toBe(204);
    expect(await storage.stat(k)).toMatchObject({ size: 1000 });
  });

  it('should refuse an upload that is not multipart (415) or has no part named file (400)', async () => {
    const post = await storage.presignPost('org/links/odd', { expiresInSeconds: 60, minBytes: 1, maxBytes: 1000 });
    expectProblem(
      await harness.app.inject({
        method: 'POST',
        url: url(post.url),
        payload: 'file=x',
        headers: { 'content-type': 'text/plain' },
      }),
      415,
      'storage-upload-not-multipart',
    );
    const form = new FormData();
    form.append('other', new Blob([Buffer.from('abc')]), 'a.bin');
    const request = new Request('http://form.invalid/', { method: 'POST', body: form });
    const res = await harness.app.inject({
      method: 'POST',
      url: url(post.url),
      payload: Buffer.from(await request.arrayBuffer()),
      headers: { 'content-type': request.headers.get('content-type') ?? '' },
    });
    expectProblem(res, 400, 'storage-upload-missing-file');
    expect(await storage.stat('org/links/odd')).toBeNull();
  });

  it('should leave no temporary file behind when a put fails', async () => {
    await expect(storage.put('org/temp/failed', failingAfter(300 * 1024, new Error('boom')), 'x/y')).rejects.toThrow(
      'boom',
    );
    expect(await readdir(join(harness.dir, 'org', 'temp'))).toEqual([]);
  });

  it.each(['../escape', 'org/../../escape', '/etc/passwd', 'org\\x', 'org/a\0b', '', 'org//x', 'org/./x'])(
    'should refuse the unsafe key %j',
    async (unsafe) => {
      await expect(storage.put(unsafe, Readable.from([Buffer.from('x')]), 'text/plain')).rejects.toThrow(
        /Unsafe object key/,
      );
      await expect(storage.stat(unsafe)).rejects.toThrow(/Unsafe object key/);
      await expect(
        storage.presignGet(unsafe, { expiresInSeconds: 60, contentType: 'text/plain', contentDisposition: 'inline' }),
      ).rejects.toThrow(/Unsafe object key/);
    },
  );
});

describe('Local storage links under the MinIO driver', () => {
  let s3: S3rverHandle;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    s3 = await startS3rver('atrium-links-off');
    app = await createStorageApp(minioEnv(s3, s3.bucket));
  });

  afterAll(async () => {
    await app?.close();
    await s3?.close();
  });

  it('should answer 404 on both routes, even for a genuinely signed token', async () => {
    const token = new LocalLinkSigner(testConfig().storage.signingSecret).sign({
      op: 'get',
      key: 'org/x',
      exp: Math.floor(Date.now() / 1000) + 60,
      contentType: 'text/plain',
      contentDisposition: 'inline',
    });
    for (const method of ['GET', 'POST'] as const) {
      expectProblem(await app.inject({ method, url: `/api/v1/storage/local/${token}` }), 404, 'not-found');
    }
    expect(app.get(ObjectStorage).driver).toBe('minio');
  });
});
