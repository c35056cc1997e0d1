import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import { ObjectStorage } from '../../src/core/storage/object-storage';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { expectProblem } from '../helpers/problem';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver';
import { createTestApp } from '../helpers/test-app';
import { multipart, pdf, png } from './media-fixtures';
import { storedKeys } from './media-storage-probe';

interface Policy {
  id: string;
  url: string;
  fields: Record<string, string>;
  maxBytes: number;
  expiresAt: string;
}

describe.each(['local', 'minio'] as const)('Direct uploads (%s storage)', (driver) => {
  let s3: S3rverHandle | undefined;
  let app: NestFastifyApplication;
  let owner: TestAccount;

  const start = (filename: string) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/media/uploads',
      headers: bearer(owner.accessToken),
      payload: { filename },
    });
  const complete = (id: string) =>
    app.inject({ method: 'POST', url: `/api/v1/media/uploads/${id}/complete`, headers: bearer(owner.accessToken) });
  const quarantined = () => storedKeys(app, `quarantine/org/${owner.organizationId}/`);

  /** What a browser does with the policy: a multipart POST of its fields and then the file. */
  async function send(policy: Policy, data: Buffer, filename: string): Promise<number> {
    if (driver === 'minio') {
      const form = new FormData();
      for (const [name, value] of Object.entries(policy.fields)) form.append(name, value);
      form.append('file', new Blob([new Uint8Array(data)]), filename);
      const res = await fetch(policy.url, { method: 'POST', body: form });
      await res.arrayBuffer();
      return res.status;
    }
    const { payload, headers } = multipart({ data, filename }, policy.fields);
    const res = await app.inject({ method: 'POST', url: new URL(policy.url).pathname, payload, headers });
    return res.statusCode;
  }

  beforeAll(async () => {
    let env: RawEnv = {};
    if (driver === 'minio') {
      s3 = await startS3rver('atrium-direct-test');
      env = {
        STORAGE_DRIVER: 'minio',
        MINIO_ENDPOINT: '127.0.0.1',
        MINIO_PORT: String(s3.port),
        MINIO_ACCESS_KEY: s3.accessKey,
        MINIO_SECRET_KEY: s3.secretKey,
        MINIO_BUCKET: s3.bucket,
      };
    }
    app = await createTestApp({ ...env, MEDIA_MAX_BYTES_PNG: '200000' });
    owner = await registerOwner(app, `media-direct-${driver}`);
  });

  afterAll(async () => {
    await app?.close();
    await s3?.close();
  });

  it('should hand out a short-lived policy capped at the named type’s limit', async () => {
    const before = Date.now();
    const res = await start('diagram.png');
    expect(res.statusCode).toBe(201);
    const policy = res.json<Policy>();
    expect(policy.maxBytes).toBe(200000);
    const lifetime = (Date.parse(policy.expiresAt) - before) / 1000;
    expect(lifetime).toBeGreaterThan(290);
    expect(lifetime).toBeLessThanOrEqual(302);
    if (driver === 'minio') {
      const conditions = JSON.parse(Buffer.from(policy.fields.policy ?? '', 'base64').toString()) as {
        expiration: string;
        conditions: unknown[];
      };
      expect(conditions.conditions).toContainEqual(['content-length-range', 1, 200000]);
      expect(JSON.stringify(conditions.conditions)).toContain(`quarantine/org/${owner.organizationId}/${policy.id}`);
      expect(Math.abs(Date.parse(conditions.expiration) - Date.parse(policy.expiresAt))).toBeLessThan(2000);
    }
  });

  it('should refuse a file name without an accepted extension with 415', async () => {
    const res = await start('setup.exe');
    expect(expectProblem(res, 415, 'media-unsupported-type').field).toBe('filename');
  });

  it('should answer 409 while nothing was uploaded, 410 once the upload expired', async () => {
    const policy = (await start('later.pdf')).json<Policy>();
    expectProblem(await complete(policy.id), 409, 'media-upload-missing');
    await app
      .get(DataSource)
      .query("UPDATE media_uploads SET expires_at = now() - interval '1 minute' WHERE id = $1", [policy.id]);
    expectProblem(await complete(policy.id), 410, 'media-upload-expired');
  });

  it('should promote an uploaded file after checking its bytes, and complete idempotently', async () => {
    const policy = (await start('diagram.png')).json<Policy>();
    expect(await send(policy, await png(), 'diagram.png')).toBeLessThan(300);
    expect(await quarantined()).toContain(`quarantine/org/${owner.organizationId}/${policy.id}`);
    const done = await complete(policy.id);
    expect(done.statusCode).toBe(201);
    const media = done.json<{ id: string; type: string; filename: string; usable: boolean }>();
    expect(media).toMatchObject({ type: 'png', filename: 'diagram.png', usable: true });
    expect(await quarantined()).toEqual([]);
    expect(await storedKeys(app, `org/${owner.organizationId}/`)).toEqual([
      expect.stringMatching(new RegExp(`/${media.id}$`)),
    ]);
    const again = await complete(policy.id);
    expect(again.statusCode).toBe(201);
    expect(again.json<{ id: string }>().id).toBe(media.id);
  });

  it('should refuse a file whose bytes do not match the declared name with 415 and remove it', async () => {
    const policy = (await start('invoice.pdf')).json<Policy>();
    expect(await send(policy, await png(), 'invoice.pdf')).toBeLessThan(300);
    expectProblem(await complete(policy.id), 415, 'media-unsupported-type');
    expect(await quarantined()).toEqual([]);
    const [row] = await app
      .get(DataSource)
      .query<{ n: string }[]>("SELECT count(*) AS n FROM media WHERE organization_id = $1 AND type = 'pdf'", [
        owner.organizationId,
      ]);
    expect(Number(row.n)).toBe(0);
  });

  it('should refuse an object over the limit at completion even if the storage let it in', async () => {
    const policy = (await start('huge.png')).json<Policy>();
    const key = `quarantine/org/${owner.organizationId}/${policy.id}`;
    await app.get(ObjectStorage).put(key, Readable.from([await png(), Buffer.alloc(250_000)]), 'image/png');
    expect(expectProblem(await complete(policy.id), 413, 'media-too-large').maxBytes).toBe(200000);
    expect(await quarantined()).toEqual([]);
  });

  it('should not let another organization complete or see the upload', async () => {
    const policy = (await start('mine.pdf')).json<Policy>();
    expect(await send(policy, pdf(), 'mine.pdf')).toBeLessThan(300);
    const stranger = await registerOwner(app, `media-direct-stranger-${driver}`);
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/media/uploads/${policy.id}/complete`,
      headers: bearer(stranger.accessToken),
    });
    expectProblem(res, 404, 'not-found');
  });
});
