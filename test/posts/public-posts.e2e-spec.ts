import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';

interface PublicPost {
  id: string;
  title: string;
  slug: string;
  body?: string;
  publishedAt: string;
}

interface PageBody {
  data: PublicPost[];
  page: { limit: number; nextCursor: string | null; hasMore: boolean };
}

describe('Public posts', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let owner: TestAccount;
  let orgSlug: string;

  beforeAll(async () => {
    const env: RawEnv = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}public-posts:` };
    app = await createTestApp(env);
    db = app.get(DataSource);
    owner = await registerOwner(app, 'public-posts');
    const [org] = await db.query<{ slug: string }[]>('SELECT slug FROM organizations WHERE id = $1', [
      owner.organizationId,
    ]);
    orgSlug = org.slug;
  });

  afterAll(async () => {
    await app?.close();
  });

  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    app.inject({ method, url: `/api/v1${url}`, payload, headers: bearer(owner.accessToken) });
  const anonymous = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url: `/api/v1/public/${url}`, headers });

  async function publishedPost(title: string, slug: string): Promise<string> {
    const created = await api('POST', '/posts', { title, slug, body: `Body of ${title}` });
    expect(created.statusCode).toBe(201);
    const { id } = created.json<{ id: string }>();
    expect((await api('POST', `/posts/${id}/publish`)).statusCode).toBe(200);
    return id;
  }

  it('should list and read published posts only, newest first, without authentication', async () => {
    const first = await publishedPost('First', 'first');
    const second = await publishedPost('Second', 'second');
    await api('POST', '/posts', { title: 'Draft', slug: 'draft' });

    const list = await anonymous(`${orgSlug}/posts?limit=1`);
    expect(list.statusCode).toBe(200);
    expect(list.headers['cache-control']).toBe('public, max-age=60');
    expect(list.headers.etag).toMatch(/^"[\w-]+"$/);
    const page = list.json<PageBody>();
    expect(page.data.map((post) => post.id)).toEqual([second]);
    expect(page.data[0].body).toBeUndefined();
    const next = await anonymous(`${orgSlug}/posts?limit=1&cursor=${encodeURIComponent(page.page.nextCursor ?? '')}`);
    expect(next.json<PageBody>().data.map((post) => post.id)).toEqual([first]);

    const one = await anonymous(`${orgSlug}/posts/first`);
    expect(one.statusCode).toBe(200);
    expect(one.json<PublicPost>()).toMatchObject({ id: first, title: 'First', body: 'Body of First' });

    expectProblem(await anonymous(`${orgSlug}/posts/draft`), 404, 'not-found');
    expectProblem(await anonymous(`${orgSlug}/posts/nothing-here`), 404, 'not-found');
    expectProblem(await anonymous('no-such-organization/posts'), 404, 'not-found');
    expectProblem(await anonymous(`${orgSlug}/posts?cursor=garbage`), 400, 'validation-failed');
  });

  it('should answer 304 to a current If-None-Match and 200 with a new ETag after a change', async () => {
    const id = await publishedPost('Revalidate', 'revalidate');
    const first = await anonymous(`${orgSlug}/posts/revalidate`);
    const etag = first.headers.etag as string;
    const notModified = await anonymous(`${orgSlug}/posts/revalidate`, { 'if-none-match': etag });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
    expect(notModified.headers.etag).toBe(etag);

    expect((await api('PATCH', `/posts/${id}`, { body: 'Changed' })).statusCode).toBe(200);
    const changed = await anonymous(`${orgSlug}/posts/revalidate`, { 'if-none-match': etag });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    expect(changed.json<PublicPost>().body).toBe('Changed');
  });

  it('should serve from the cache until a published post changes (update, archive, delete)', async () => {
    const id = await publishedPost('Cached', 'cached');
    const warm = await anonymous(`${orgSlug}/posts/cached`);
    expect(warm.json<PublicPost>().title).toBe('Cached');
    await anonymous(`${orgSlug}/posts`);

    // Behind the API's back: the cached answers stay until something evicts them.
    await db.query("UPDATE posts SET title = 'Sneaky' WHERE id = $1", [id]);
    expect((await anonymous(`${orgSlug}/posts/cached`)).json<PublicPost>().title).toBe('Cached');
    expect((await anonymous(`${orgSlug}/posts`)).json<PageBody>().data.find((post) => post.id === id)?.title).toBe(
      'Cached',
    );

    await api('PATCH', `/posts/${id}`, { title: 'Updated' });
    expect((await anonymous(`${orgSlug}/posts/cached`)).json<PublicPost>().title).toBe('Updated');

    expect((await api('POST', `/posts/${id}/archive`)).statusCode).toBe(200);
    expectProblem(await anonymous(`${orgSlug}/posts/cached`), 404, 'not-found');
    expect((await anonymous(`${orgSlug}/posts`)).json<PageBody>().data.map((post) => post.id)).not.toContain(id);

    const other = await publishedPost('Deleted soon', 'deleted-soon');
    expect((await anonymous(`${orgSlug}/posts/deleted-soon`)).statusCode).toBe(200);
    expect((await api('DELETE', `/posts/${other}`)).statusCode).toBe(204);
    expectProblem(await anonymous(`${orgSlug}/posts/deleted-soon`), 404, 'not-found');
  });

  it('should show a newly published post at once (publish evicts)', async () => {
    const before = (await anonymous(`${orgSlug}/posts?limit=100`)).json<PageBody>().data.length;
    const id = await publishedPost('Fresh', 'fresh');
    const after = (await anonymous(`${orgSlug}/posts?limit=100`)).json<PageBody>().data;
    expect(after).toHaveLength(before + 1);
    expect(after[0].id).toBe(id);
  });
});
