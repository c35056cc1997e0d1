import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { auditEntries } from '../helpers/audit';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertDepartment, insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';
import { jpegWithGps, pdf, png, upload } from './media-fixtures';
import { storedKeys } from './media-storage-probe';

interface MediaBody {
  id: string;
  type: string;
  filename: string;
  uploadedBy: string | null;
  departmentId: string | null;
}

interface PageBody {
  data: MediaBody[];
  page: { nextCursor: string | null; hasMore: boolean };
}

describe('Media access', () => {
  let app: NestFastifyApplication;
  let owner: TestAccount;
  let stranger: TestAccount;
  let dept: { a: string; b: string };
  let scoped: { id: string; token: string };
  let inA: MediaBody;
  let inB: MediaBody;
  let orgLevel: MediaBody;

  const get = (token: string, url: string) => app.inject({ method: 'GET', url, headers: bearer(token) });
  const uploadOk = async (token: string, file: { data: Buffer; filename: string }, query = '') => {
    const res = await upload(app, token, file, query);
    expect(res.statusCode).toBe(201);
    return res.json<MediaBody>();
  };

  beforeAll(async () => {
    app = await createTestApp();
    owner = await registerOwner(app, 'media-access');
    stranger = await registerOwner(app, 'media-stranger');
    dept = {
      a: (await insertDepartment(app, owner.organizationId, { name: 'A' })).id,
      b: (await insertDepartment(app, owner.organizationId, { name: 'B' })).id,
    };
    const role = await insertRole(app, owner.organizationId, ['media:read', 'media:create', 'media:delete']);
    const member = await insertMember(app, owner.organizationId, {
      label: 'media-scoped',
      assignments: [{ roleId: role, departmentId: dept.a }],
    });
    scoped = { id: member.id, token: await loginAs(app, member.email) };
    inA = await uploadOk(owner.accessToken, { data: await png(), filename: 'a.png' }, `?departmentId=${dept.a}`);
    inB = await uploadOk(owner.accessToken, { data: pdf(), filename: 'b.pdf' }, `?departmentId=${dept.b}`);
    orgLevel = await uploadOk(owner.accessToken, { data: pdf(), filename: 'org.pdf' });
  });

  afterAll(() => app.close());

  describe('GET /media', () => {
    it('should list the organization’s media newest first, filtered by type, uploader and department', async () => {
      const all = (await get(owner.accessToken, '/api/v1/media')).json<PageBody>();
      expect(all.data.map((m) => m.id)).toEqual([orgLevel.id, inB.id, inA.id]);
      const pdfs = (await get(owner.accessToken, '/api/v1/media?type=pdf')).json<PageBody>();
      expect(pdfs.data.map((m) => m.id)).toEqual([orgLevel.id, inB.id]);
      const byDept = (await get(owner.accessToken, `/api/v1/media?departmentId=${dept.a}`)).json<PageBody>();
      expect(byDept.data.map((m) => m.id)).toEqual([inA.id]);
      const byUploader = (await get(owner.accessToken, `/api/v1/media?uploadedBy=${scoped.id}`)).json<PageBody>();
      expect(byUploader.data).toEqual([]);
    });

    it('should page with a cursor', async () => {
      const first = (await get(owner.accessToken, '/api/v1/media?limit=2')).json<PageBody>();
      expect(first.page.hasMore).toBe(true);
      const second = (
        await get(owner.accessToken, `/api/v1/media?limit=2&cursor=${encodeURIComponent(first.page.nextCursor ?? '')}`)
      ).json<PageBody>();
      expect([...first.data, ...second.data].map((m) => m.id)).toEqual([orgLevel.id, inB.id, inA.id]);
    });

    it('should show a department-scoped member only the media of their department', async () => {
      const page = (await get(scoped.token, '/api/v1/media')).json<PageBody>();
      expect(page.data.map((m) => m.id)).toEqual([inA.id]);
    });

    it('should refuse unknown filter values with 400 naming the field', async () => {
      const res = await get(owner.accessToken, '/api/v1/media?type=exe');
      const problem = expectProblem(res, 400, 'validation-failed');
      expect(JSON.stringify(problem.errors)).toContain('type');
    });
  });

  describe('one media', () => {
    it('should show media in scope and hide media outside it as 404', async () => {
      expect((await get(scoped.token, `/api/v1/media/${inA.id}`)).statusCode).toBe(200);
      expectProblem(await get(scoped.token, `/api/v1/media/${inB.id}`), 404, 'not-found');
      expectProblem(await get(scoped.token, `/api/v1/media/${orgLevel.id}/url`), 404, 'not-found');
    });

    it('should never show another organization’s media, its URL, or let it be deleted', async () => {
      for (const url of [`/api/v1/media/${inA.id}`, `/api/v1/media/${inA.id}/url`]) {
        expectProblem(await get(stranger.accessToken, url), 404, 'not-found');
      }
      const del = await app.inject({
        method: 'DELETE',
        url: `/api/v1/media/${inA.id}`,
        headers: bearer(stranger.accessToken),
      });
      expectProblem(del, 404, 'not-found');
      expect((await get(owner.accessToken, `/api/v1/media/${inA.id}`)).statusCode).toBe(200);
    });

    it('should refuse an upload into a department outside the caller’s grants with 403', async () => {
      const res = await upload(app, scoped.token, { data: pdf(), filename: 'x.pdf' }, `?departmentId=${dept.b}`);
      expectProblem(res, 403, 'permission-denied');
    });
  });

  describe('GET /media/:id/url', () => {
    it('should serve an image inline and a document as an attachment, for MEDIA_URL_TTL_SECONDS', async () => {
      const before = Date.now();
      const image = (await get(owner.accessToken, `/api/v1/media/${inA.id}/url`)).json<{
        url: string;
        expiresAt: string;
        contentDisposition: string;
      }>();
      expect(image.contentDisposition).toMatch(/^inline; filename="a\.png"/);
      const expiresIn = (Date.parse(image.expiresAt) - before) / 1000;
      expect(expiresIn).toBeGreaterThan(290);
      expect(expiresIn).toBeLessThanOrEqual(302);
      const doc = (await get(owner.accessToken, `/api/v1/media/${inB.id}/url`)).json<{ contentDisposition: string }>();
      expect(doc.contentDisposition).toMatch(/^attachment; filename="b\.pdf"/);
    });

    it('should download through the signed link with nosniff and the signed disposition, and nothing else', async () => {
      const signed = (await get(owner.accessToken, `/api/v1/media/${inB.id}/url`)).json<{ url: string }>();
      const path = new URL(signed.url).pathname;
      const res = await app.inject({ method: 'GET', url: path });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-type']).toBe('application/pdf');
      expect(res.headers['content-disposition']).toMatch(/^attachment;/);
      expect(res.rawPayload.equals(pdf())).toBe(true);
      const tampered = await app.inject({ method: 'GET', url: `${path.slice(0, -3)}xyz` });
      expect(tampered.statusCode).toBe(403);
    });

    it('should honour a configured expiry', async () => {
      const shortLived = await createTestApp({ MEDIA_URL_TTL_SECONDS: '30' });
      try {
        const res = await shortLived.inject({
          method: 'GET',
          url: `/api/v1/media/${inA.id}/url`,
          headers: bearer(owner.accessToken),
        });
        const expiresIn = (Date.parse(res.json<{ expiresAt: string }>().expiresAt) - Date.now()) / 1000;
        expect(expiresIn).toBeGreaterThan(25);
        expect(expiresIn).toBeLessThanOrEqual(31);
      } finally {
        await shortLived.close();
      }
    });

    it('should refuse a rendition of a document with 400 and of an unprocessed image with 409', async () => {
      const doc = await get(owner.accessToken, `/api/v1/media/${inB.id}/url?variant=thumb`);
      expect(JSON.stringify(expectProblem(doc, 400, 'validation-failed').errors)).toContain('variant');
      const image = await get(owner.accessToken, `/api/v1/media/${inA.id}/url?variant=web`);
      expectProblem(image, 409, 'media-not-ready');
      expectProblem(await get(owner.accessToken, `/api/v1/media/${inA.id}/url?variant=huge`), 400, 'validation-failed');
    });

    it('should refuse quarantined and pending media with 409', async () => {
      const db = app.get(DataSource);
      const victim = await uploadOk(owner.accessToken, { data: pdf('quarantine me'), filename: 'q.pdf' });
      await db.query("UPDATE media SET scan_status = 'infected', scan_signature = 'Eicar' WHERE id = $1", [victim.id]);
      expectProblem(await get(owner.accessToken, `/api/v1/media/${victim.id}/url`), 409, 'media-quarantined');
      await db.query("UPDATE media SET scan_status = 'pending' WHERE id = $1", [victim.id]);
      expectProblem(await get(owner.accessToken, `/api/v1/media/${victim.id}/url`), 409, 'media-not-ready');
    });
  });

  describe('covers and deletion', () => {
    const createPost = (cover: string) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/posts',
        headers: bearer(owner.accessToken),
        payload: { title: `Cover ${cover.slice(-6)}`, coverMediaId: cover },
      });

    it('should only take an image of the organization as a post cover', async () => {
      const doc = await createPost(inB.id);
      expect(JSON.stringify(expectProblem(doc, 400, 'validation-failed').errors)).toContain('coverMediaId');
      const foreign = await uploadOk(stranger.accessToken, { data: await png(), filename: 'f.png' });
      const other = await createPost(foreign.id);
      expect(JSON.stringify(expectProblem(other, 400, 'validation-failed').errors)).toContain('coverMediaId');
    });

    it('should refuse to delete a cover with 409 naming the posts, and with force remove it from them', async () => {
      const cover = await uploadOk(owner.accessToken, { data: await jpegWithGps(), filename: 'cover.jpg' });
      const post = await createPost(cover.id);
      expect(post.statusCode).toBe(201);
      const postId = post.json<{ id: string }>().id;
      const [{ object_key: key }] = await app
        .get(DataSource)
        .query<{ object_key: string }[]>('SELECT object_key FROM media WHERE id = $1', [cover.id]);

      const refused = await app.inject({
        method: 'DELETE',
        url: `/api/v1/media/${cover.id}`,
        headers: bearer(owner.accessToken),
      });
      expect(expectProblem(refused, 409, 'media-in-use').posts).toEqual([postId]);
      expect(await storedKeys(app, key)).toEqual([key]);

      const forced = await app.inject({
        method: 'DELETE',
        url: `/api/v1/media/${cover.id}?force=true`,
        headers: bearer(owner.accessToken),
      });
      expect(forced.statusCode).toBe(204);
      expectProblem(await get(owner.accessToken, `/api/v1/media/${cover.id}`), 404, 'not-found');
      const after = (await get(owner.accessToken, `/api/v1/posts/${postId}`)).json<{ coverMediaId: string | null }>();
      expect(after.coverMediaId).toBeNull();
      expect(await storedKeys(app, key)).toEqual([]);
      const actions = (await auditEntries(app, owner.organizationId))
        .filter((entry) => entry.resourceId === cover.id || entry.resourceId === postId)
        .map((entry) => entry.action);
      expect(actions).toEqual(expect.arrayContaining(['media.create', 'posts.cover-removed', 'media.delete']));
    });

    it('should delete unused media at once and 404 on a second delete', async () => {
      const doomed = await uploadOk(owner.accessToken, { data: pdf('doomed'), filename: 'd.pdf' });
      const del = () =>
        app.inject({ method: 'DELETE', url: `/api/v1/media/${doomed.id}`, headers: bearer(owner.accessToken) });
      expect((await del()).statusCode).toBe(204);
      expectProblem(await del(), 404, 'not-found');
    });

    it('should refuse a delete by a member without media:delete with 403', async () => {
      const readerRole = await insertRole(app, owner.organizationId, ['media:read']);
      const reader = await insertMember(app, owner.organizationId, { assignments: [{ roleId: readerRole }] });
      const token = await loginAs(app, reader.email);
      const res = await app.inject({ method: 'DELETE', url: `/api/v1/media/${inA.id}`, headers: bearer(token) });
      expectProblem(res, 403, 'permission-denied');
    });
  });
});
