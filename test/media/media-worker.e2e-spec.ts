import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import sharp from 'sharp';
import { DataSource } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import { auditEntries } from '../helpers/audit';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { CLAMD_MISSING, EICAR_SIGNATURE, eicar, findClamd, startClamd, type ClamdHandle } from '../helpers/clamd';
import { expectProblem } from '../helpers/problem';
import { createTestApp, createTestWorker } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';
import { GPS_MARKER, jpegWithGps, pdf, pngWithChunk, upload } from './media-fixtures';

interface MediaBody {
  id: string;
  scanStatus: string;
  usable: boolean;
  width: number | null;
  height: number | null;
  variants: { thumb?: { width: number; height: number; size: number }; web?: { width: number; height: number } };
}

const MiB = 1024 * 1024;
const clamdInstalled = findClamd() !== null;
if (!clamdInstalled) console.warn(`Skipping the media scanning tests against a real clamd: ${CLAMD_MISSING}`);
const describeWithClamd = clamdInstalled ? describe : describe.skip;

/** Each block gets a queue namespace of its own, so no other spec's worker takes its jobs. */
const prefix = (name: string) => `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}${name}:`;

async function startPair(env: RawEnv): Promise<{ app: NestFastifyApplication; worker: INestApplicationContext }> {
  const app = await createTestApp(env);
  const worker = await createTestWorker(env);
  return { app, worker };
}

function mediaOf(app: NestFastifyApplication, token: string, id: string): Promise<MediaBody> {
  return app
    .inject({ method: 'GET', url: `/api/v1/media/${id}`, headers: bearer(token) })
    .then((res) => res.json<MediaBody>());
}

async function download(app: NestFastifyApplication, token: string, id: string, variant: string) {
  const res = await app.inject({
    method: 'GET',
    url: `/api/v1/media/${id}/url?variant=${variant}`,
    headers: bearer(token),
  });
  expect(res.statusCode).toBe(200);
  return app.inject({ method: 'GET', url: new URL(res.json<{ url: string }>().url).pathname });
}

describe('Media processing in the worker (scanning off)', () => {
  let app: NestFastifyApplication;
  let worker: INestApplicationContext;
  let owner: TestAccount;

  beforeAll(async () => {
    ({ app, worker } = await startPair({ REDIS_KEY_PREFIX: prefix('media-renditions') }));
    owner = await registerOwner(app, 'media-renditions');
  });

  afterAll(async () => {
    await worker?.close();
    await app?.close();
  });

  it('should derive EXIF-free thumb and web renditions of an image and record its size', async () => {
    const res = await upload(app, owner.accessToken, { data: await jpegWithGps(2400, 1200), filename: 'wide.jpg' });
    expect(res.statusCode).toBe(201);
    const id = res.json<MediaBody>().id;
    const media = await waitFor(
      async () => {
        const current = await mediaOf(app, owner.accessToken, id);
        return current.variants.web ? current : undefined;
      },
      { timeoutMs: 30_000, what: 'renditions' },
    );
    expect(media).toMatchObject({ scanStatus: 'skipped', width: 2400, height: 1200 });
    expect(media.variants.thumb).toMatchObject({ width: 320, height: 160 });
    expect(media.variants.web).toMatchObject({ width: 1600, height: 800 });

    for (const variant of ['thumb', 'web']) {
      const file = await download(app, owner.accessToken, id, variant);
      expect(file.headers['content-type']).toBe('image/webp');
      expect(file.headers['content-disposition']).toMatch(new RegExp(`^inline; filename="wide-${variant}\\.webp"`));
      expect(file.rawPayload.includes(GPS_MARKER)).toBe(false);
      const metadata = await sharp(file.rawPayload).metadata();
      expect(metadata.format).toBe('webp');
      expect(metadata.exif).toBeUndefined();
    }
  });

  it('should leave documents alone: usable at once, no renditions', async () => {
    const res = await upload(app, owner.accessToken, { data: pdf(), filename: 'doc.pdf' });
    const id = res.json<MediaBody>().id;
    expect(res.json<MediaBody>()).toMatchObject({ scanStatus: 'skipped', usable: true });
    expect((await download(app, owner.accessToken, id, 'original')).statusCode).toBe(200);
  });
});

describeWithClamd('Media scanning with a real clamd', () => {
  let clamd: ClamdHandle;
  let app: NestFastifyApplication;
  let worker: INestApplicationContext;
  let owner: TestAccount;
  let env: RawEnv;

  const uploadPdf = async (text: string) => {
    const res = await upload(app, owner.accessToken, { data: pdf(text), filename: 'scan-me.pdf' });
    expect(res.statusCode).toBe(201);
    expect(res.json<MediaBody>()).toMatchObject({ scanStatus: 'pending', usable: false });
    return res.json<MediaBody>().id;
  };
  const settled = (id: string) =>
    waitFor(
      async () => {
        const media = await mediaOf(app, owner.accessToken, id);
        return media.scanStatus === 'pending' ? undefined : media;
      },
      { timeoutMs: 60_000, what: 'scan verdict' },
    );

  beforeAll(async () => {
    const started = await startClamd({ streamMaxBytes: 64 * MiB });
    if (!started) throw new Error(CLAMD_MISSING);
    clamd = started;
    env = {
      REDIS_KEY_PREFIX: prefix('media-scanning'),
      CLAMAV_HOST: clamd.host,
      CLAMAV_PORT: String(clamd.port),
      CLAMAV_STREAM_MAX_BYTES: String(64 * MiB),
      MEDIA_MAX_BYTES_MP4: String(32 * MiB),
    };
    ({ app, worker } = await startPair(env));
    owner = await registerOwner(app, 'media-scanning');
  }, 120_000);

  afterAll(async () => {
    await worker?.close();
    await app?.close();
    await clamd?.stop();
  });

  it('should keep new media pending (not downloadable) until clamd says OK, then serve it', async () => {
    const id = await uploadPdf('perfectly harmless');
    const media = await settled(id);
    expect(media).toMatchObject({ scanStatus: 'clean', usable: true });
    expect((await download(app, owner.accessToken, id, 'original')).statusCode).toBe(200);
  });

  it('should quarantine an infected file: never downloadable, removed as a cover, audited', async () => {
    const res = await upload(app, owner.accessToken, { data: await pngWithChunk(eicar()), filename: 'cover.png' });
    expect(res.json<MediaBody>()).toMatchObject({ scanStatus: 'pending', usable: false });
    const id = res.json<MediaBody>().id;
    // A pending image may already be a post's cover; it is removed from the post if the scan fails.
    const post = await app.inject({
      method: 'POST',
      url: '/api/v1/posts',
      headers: bearer(owner.accessToken),
      payload: { title: 'Pending cover', coverMediaId: id },
    });
    expect(post.statusCode).toBe(201);
    const postId = post.json<{ id: string }>().id;

    const media = await settled(id);
    expect(media).toMatchObject({ scanStatus: 'infected', usable: false, variants: {} });
    const url = await app.inject({ method: 'GET', url: `/api/v1/media/${id}/url`, headers: bearer(owner.accessToken) });
    expectProblem(url, 409, 'media-quarantined');
    const [row] = await app
      .get(DataSource)
      .query<{ scan_signature: string }[]>('SELECT scan_signature FROM media WHERE id = $1', [id]);
    expect(row.scan_signature).toContain(EICAR_SIGNATURE);
    const after = await app.inject({
      method: 'GET',
      url: `/api/v1/posts/${postId}`,
      headers: bearer(owner.accessToken),
    });
    expect(after.json<{ coverMediaId: string | null }>().coverMediaId).toBeNull();
    const entries = await auditEntries(app, owner.organizationId);
    const quarantine = entries.find((entry) => entry.resourceId === id && entry.action === 'media.quarantine');
    expect(quarantine).toMatchObject({ actorId: null, outcome: 'success' });
    expect(quarantine?.details).toMatchObject({ signature: expect.stringContaining(EICAR_SIGNATURE) });
    expect(
      entries.find((entry) => entry.resourceId === postId && entry.action === 'posts.cover-removed'),
    ).toBeDefined();
  });

  it('should mark media failed, not clean, when the scanner never answers OK', async () => {
    const blind = { ...env, REDIS_KEY_PREFIX: prefix('media-scan-down'), CLAMAV_PORT: '1' };
    const pair = await startPair(blind);
    try {
      const account = await registerOwner(pair.app, 'media-scan-down');
      const res = await upload(pair.app, account.accessToken, { data: pdf('unscanned'), filename: 'u.pdf' });
      const id = res.json<MediaBody>().id;
      const media = await waitFor(
        async () => {
          const current = await mediaOf(pair.app, account.accessToken, id);
          return current.scanStatus === 'pending' ? undefined : current;
        },
        { timeoutMs: 90_000, intervalMs: 500, what: 'scan failure after retries' },
      );
      expect(media).toMatchObject({ scanStatus: 'failed', usable: false });
      const url = await pair.app.inject({
        method: 'GET',
        url: `/api/v1/media/${id}/url`,
        headers: bearer(account.accessToken),
      });
      expectProblem(url, 409, 'media-quarantined');
    } finally {
      await pair.worker.close();
      await pair.app.close();
    }
  }, 120_000);
});
