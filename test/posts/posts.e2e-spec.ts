import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import type { PostStatus } from '../../src/modules/posts/post.entity';
import { PostsService } from '../../src/modules/posts/posts.service';
import { auditEntries } from '../helpers/audit';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertDepartment, insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';

interface PostBody {
  id: string;
  title: string;
  slug: string;
  body: string;
  excerpt: string | null;
  status: PostStatus;
  publishAt: string | null;
  publishedAt: string | null;
  authorId: string | null;
  departmentId: string | null;
  tags: string[];
  version: number;
  createdAt: string;
}

interface PageBody {
  data: PostBody[];
  page: { limit: number; nextCursor: string | null; hasMore: boolean };
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

describe('Posts', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let owner: TestAccount;
  let stranger: TestAccount;
  let dept: { root: string; leaf: string; sibling: string };

  beforeAll(async () => {
    const env: RawEnv = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}posts:` };
    app = await createTestApp(env);
    db = app.get(DataSource);
    owner = await registerOwner(app, 'posts');
    stranger = await registerOwner(app, 'posts-stranger');
    const root = await insertDepartment(app, owner.organizationId, { name: 'root' });
    const leaf = await insertDepartment(app, owner.organizationId, { name: 'leaf', parentId: root.id });
    const sibling = await insertDepartment(app, owner.organizationId, { name: 'sibling' });
    dept = { root: root.id, leaf: leaf.id, sibling: sibling.id };
  });

  afterAll(async () => {
    await app?.close();
  });

  const api = (method: Method, url: string, token: string, payload?: object, headers = {}) =>
    app.inject({ method, url: `/api/v1${url}`, payload, headers: { ...bearer(token), ...headers } });

  async function create(payload: object, token = owner.accessToken): Promise<PostBody> {
    const res = await api('POST', '/posts', token, payload);
    expect(res.statusCode).toBe(201);
    return res.json<PostBody>();
  }

  const action = (id: string, name: string, payload?: object, token = owner.accessToken) =>
    api('POST', `/posts/${id}/${name}`, token, payload);

  describe('CRUD', () => {
    it('should create, read by id and slug, update with If-Match and soft-delete a post', async () => {
      const created = await api('POST', '/posts', owner.accessToken, {
        title: '  Héllo, World! ',
        body: 'Text',
        excerpt: 'Short',
        tags: ['news', ' news', 'product'],
        departmentId: dept.root,
      });
      expect(created.statusCode).toBe(201);
      expect(created.headers.etag).toBe('"1"');
      const post = created.json<PostBody>();
      expect(post).toMatchObject({
        title: 'Héllo, World!',
        slug: 'hello-world',
        status: 'draft',
        tags: ['news', 'product'],
        authorId: owner.userId,
        departmentId: dept.root,
        version: 1,
        publishedAt: null,
      });

      const byId = await api('GET', `/posts/${post.id}`, owner.accessToken);
      expect(byId.statusCode).toBe(200);
      expect(byId.json<PostBody>()).toEqual(post);
      const bySlug = await api('GET', '/posts/by-slug/hello-world', owner.accessToken);
      expect(bySlug.json<PostBody>().id).toBe(post.id);

      const updated = await api(
        'PATCH',
        `/posts/${post.id}`,
        owner.accessToken,
        { title: 'Renamed', slug: 'renamed', excerpt: '' },
        { 'if-match': '"1"' },
      );
      expect(updated.statusCode).toBe(200);
      expect(updated.json<PostBody>()).toMatchObject({ title: 'Renamed', slug: 'renamed', excerpt: null, version: 2 });
      expect(updated.headers.etag).toBe('"2"');
      // The old slug is free, the new one finds the post.
      expect((await api('GET', '/posts/by-slug/hello-world', owner.accessToken)).statusCode).toBe(404);
      expect((await api('GET', '/posts/by-slug/renamed', owner.accessToken)).json<PostBody>().id).toBe(post.id);

      for (const ifMatch of ['"1"', 'garbage']) {
        const stale = await api(
          'PATCH',
          `/posts/${post.id}`,
          owner.accessToken,
          { title: 'X' },
          { 'if-match': ifMatch },
        );
        expectProblem(stale, 412, 'version-mismatch');
      }

      expect((await api('DELETE', `/posts/${post.id}`, owner.accessToken)).statusCode).toBe(204);
      expect((await api('GET', `/posts/${post.id}`, owner.accessToken)).statusCode).toBe(404);
      expect((await api('GET', '/posts/by-slug/renamed', owner.accessToken)).statusCode).toBe(404);
      // Deleting released the slug.
      expect((await create({ title: 'Reuse', slug: 'renamed' })).slug).toBe('renamed');

      const actions = (await auditEntries(app, owner.organizationId))
        .filter((entry) => entry.resourceId === post.id)
        .map((entry) => entry.action);
      expect(actions).toEqual(['posts.create', 'posts.update', 'posts.delete']);
    });

    it('should keep slugs unique per organization: 409 naming slug, suffix for derived ones', async () => {
      const first = await create({ title: 'Same title' });
      const second = await create({ title: 'Same title' });
      expect([first.slug, second.slug]).toEqual(['same-title', 'same-title-2']);

      const taken = expectProblem(
        await api('POST', '/posts', owner.accessToken, { title: 'Other', slug: 'same-title' }),
        409,
        'post-slug-taken',
      );
      expect(taken.field).toBe('slug');
      expectProblem(
        await api('PATCH', `/posts/${second.id}`, owner.accessToken, { slug: 'same-title' }),
        409,
        'post-slug-taken',
      );
      expect((await api('GET', `/posts/${second.id}`, owner.accessToken)).json<PostBody>().slug).toBe('same-title-2');

      // Another organization may use the same slug.
      expect((await create({ title: 'Theirs', slug: 'same-title' }, stranger.accessToken)).slug).toBe('same-title');

      const invalid = expectProblem(
        await api('POST', '/posts', owner.accessToken, { title: 'Bad', slug: 'Not A Slug' }),
        400,
        'validation-failed',
      );
      expect(invalid.errors).toEqual([expect.objectContaining({ field: 'slug' })]);
    });

    it('should replay a create with the same Idempotency-Key', async () => {
      const headers = { 'idempotency-key': `post-${Date.now()}` };
      const first = await api('POST', '/posts', owner.accessToken, { title: 'Once' }, headers);
      const again = await api('POST', '/posts', owner.accessToken, { title: 'Once' }, headers);
      expect(first.statusCode).toBe(201);
      expect(again.json<PostBody>().id).toBe(first.json<PostBody>().id);
    });
  });

  describe('lifecycle', () => {
    it('should walk draft → scheduled → draft → published → archived → draft, each change versioned', async () => {
      const post = await create({ title: 'Lifecycle' });
      const publishAt = inAnHour();
      const scheduled = await action(post.id, 'schedule', { publishAt });
      expect(scheduled.statusCode).toBe(200);
      expect(scheduled.json<PostBody>()).toMatchObject({ status: 'scheduled', publishAt, version: 2 });
      const rescheduled = await action(post.id, 'schedule', { publishAt: inAnHour() });
      expect(rescheduled.json<PostBody>()).toMatchObject({ status: 'scheduled', version: 3 });
      expect((await action(post.id, 'unschedule')).json<PostBody>()).toMatchObject({
        status: 'draft',
        publishAt: null,
        version: 4,
      });
      const published = (await action(post.id, 'publish')).json<PostBody>();
      expect(published).toMatchObject({ status: 'published', version: 5 });
      expect(Date.parse(published.publishedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
      expect((await action(post.id, 'archive')).json<PostBody>()).toMatchObject({ status: 'archived', version: 6 });
      expect((await action(post.id, 'unarchive')).json<PostBody>()).toMatchObject({ status: 'draft', version: 7 });

      const actions = (await auditEntries(app, owner.organizationId))
        .filter((entry) => entry.resourceId === post.id)
        .map((entry) => entry.action);
      expect(actions).toEqual([
        'posts.create',
        'posts.schedule',
        'posts.schedule',
        'posts.unschedule',
        'posts.publish',
        'posts.archive',
        'posts.unarchive',
      ]);
      const publish = (await auditEntries(app, owner.organizationId)).find(
        (entry) => entry.resourceId === post.id && entry.action === 'posts.publish',
      );
      expect(publish).toMatchObject({ actorId: owner.userId, outcome: 'success' });
      expect(publish?.changes).toMatchObject({ before: { status: 'draft' }, after: { status: 'published' } });
    });

    it.each([
      ['published', 'publish', ['archive']],
      ['published', 'unschedule', ['archive']],
      ['draft', 'unschedule', ['publish', 'schedule', 'archive']],
      ['draft', 'unarchive', ['publish', 'schedule', 'archive']],
      ['archived', 'publish', ['unarchive']],
      ['archived', 'archive', ['unarchive']],
    ])('should refuse from %s to %s with 409 naming %j', async (from, name, allowed) => {
      const post = await create({ title: `Illegal ${from} ${name}` });
      if (from === 'published') await action(post.id, 'publish');
      if (from === 'archived') await action(post.id, 'archive');
      const res = await action(post.id, name, name === 'schedule' ? { publishAt: inAnHour() } : undefined);
      const problem = expectProblem(res, 409, 'illegal-transition');
      expect(problem).toMatchObject({ currentStatus: from, action: name, allowed });
      expect((await api('GET', `/posts/${post.id}`, owner.accessToken)).json<PostBody>().status).toBe(from);
    });

    it('should refuse a publishAt in the past with 400 naming publishAt', async () => {
      const post = await create({ title: 'Past' });
      for (const publishAt of [new Date(Date.now() - 1000).toISOString(), 'tomorrow']) {
        const problem = expectProblem(await action(post.id, 'schedule', { publishAt }), 400, 'validation-failed');
        expect(problem.errors).toEqual([expect.objectContaining({ field: 'publishAt' })]);
      }
    });

    it('should publish through PostsService.publish once, and only at the job version', async () => {
      const post = await create({ title: 'Shared publish' });
      const version = (await action(post.id, 'schedule', { publishAt: inAnHour() })).json<PostBody>().version;
      const service = app.get(PostsService);
      const createdAt = new Date(post.createdAt);
      expect(await service.publish(post.id, createdAt, version - 1)).toBe(false);
      const results = await Promise.all([
        service.publish(post.id, createdAt, version),
        service.publish(post.id, createdAt, version),
      ]);
      expect(results.sort()).toEqual([false, true]);
      expect(await service.publish(post.id, createdAt)).toBe(false);
      const publishes = (await auditEntries(app, owner.organizationId)).filter(
        (entry) => entry.resourceId === post.id && entry.action === 'posts.publish',
      );
      expect(publishes).toHaveLength(1);
      expect(publishes[0]).toMatchObject({ actorId: null });
    });
  });

  describe('scoping', () => {
    async function memberWith(permissions: string[], departmentId: string | null) {
      const roleId = await insertRole(app, owner.organizationId, permissions);
      const user = await insertMember(app, owner.organizationId, { assignments: [{ roleId, departmentId }] });
      return { ...user, token: await loginAs(app, user.email) };
    }

    it('should confine reads and changes to the caller department subtree', async () => {
      const inLeaf = await create({ title: 'In leaf', departmentId: dept.leaf });
      const inSibling = await create({ title: 'In sibling', departmentId: dept.sibling });
      const orgLevel = await create({ title: 'Org level' });
      const editor = await memberWith(['posts:read', 'posts:update'], dept.root);

      const listed = (await api('GET', '/posts?limit=100', editor.token)).json<PageBody>().data.map((p) => p.id);
      expect(listed).toContain(inLeaf.id);
      expect(listed).not.toContain(inSibling.id);
      expect(listed).not.toContain(orgLevel.id);
      expect((await api('GET', `/posts/${inSibling.id}`, editor.token)).statusCode).toBe(404);
      expect((await api('PATCH', `/posts/${inLeaf.id}`, editor.token, { title: 'Edited' })).statusCode).toBe(200);
      // Readable, but publishing needs posts:publish.
      expectProblem(await action(inLeaf.id, 'publish', undefined, editor.token), 403, 'permission-denied');
      expectProblem(
        await api('POST', '/posts', editor.token, { title: 'No create', departmentId: dept.leaf }),
        403,
        'permission-denied',
      );
    });

    it('should answer 404 for another organization post, by id, by slug and for changes', async () => {
      const theirs = await create({ title: 'Foreign', slug: 'foreign-post' }, stranger.accessToken);
      expect((await api('GET', `/posts/${theirs.id}`, owner.accessToken)).statusCode).toBe(404);
      expect((await api('GET', '/posts/by-slug/foreign-post', owner.accessToken)).statusCode).toBe(404);
      expect((await api('PATCH', `/posts/${theirs.id}`, owner.accessToken, { title: 'X' })).statusCode).toBe(404);
      expect((await action(theirs.id, 'publish')).statusCode).toBe(404);
      expect((await api('DELETE', `/posts/${theirs.id}`, owner.accessToken)).statusCode).toBe(404);
      expect((await api('GET', `/posts/${theirs.id}`, stranger.accessToken)).json<PostBody>().title).toBe('Foreign');
    });
  });

  describe('list', () => {
    let org: TestAccount;
    const titles: Record<string, PostBody> = {};

    beforeAll(async () => {
      org = await registerOwner(app, 'posts-list');
      const other = await insertDepartment(app, org.organizationId, { name: 'list-dept' });
      const specs = [
        { title: 'Alpha 100% news', excerpt: 'first', tags: ['a'] },
        { title: 'Beta', excerpt: 'about_news', tags: ['b'], departmentId: other.id },
        { title: 'Gamma', excerpt: null, tags: ['a', 'b'] },
        { title: 'Delta', excerpt: 'plain', tags: [] },
      ];
      for (const spec of specs) titles[spec.title.split(' ')[0]] = await create(spec, org.accessToken);
      await action(titles.Beta.id, 'publish', undefined, org.accessToken);
      await action(titles.Gamma.id, 'publish', undefined, org.accessToken);
      await action(titles.Delta.id, 'schedule', { publishAt: inAnHour() }, org.accessToken);
      titles.dept = { ...titles.Beta, departmentId: other.id };
    });

    async function names(query: string): Promise<string[]> {
      const rows: PostBody[] = [];
      let cursor: string | null = null;
      do {
        const url = `/posts?${query}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = await api('GET', url, org.accessToken);
        expect(res.statusCode).toBe(200);
        const body = res.json<PageBody>();
        rows.push(...body.data);
        cursor = body.page.nextCursor;
      } while (cursor);
      return rows.map((row) => row.title.split(' ')[0]);
    }

    it.each([
      ['sort=title', ['Alpha', 'Beta', 'Delta', 'Gamma']],
      ['sort=-createdAt', ['Delta', 'Gamma', 'Beta', 'Alpha']],
      ['sort=-publishedAt', ['Gamma', 'Beta', 'Delta', 'Alpha']],
      ['sort=title&status=published,scheduled', ['Beta', 'Delta', 'Gamma']],
      ['sort=title&tag=a', ['Alpha', 'Gamma']],
      ['sort=title&q=100%25', ['Alpha']],
      ['sort=title&q=_news', ['Beta']],
      ['sort=title&q=NEWS', ['Alpha', 'Beta']],
      ['sort=title&publishedFrom=2020-01-01T00:00:00Z', ['Beta', 'Gamma']],
      ['sort=title&publishedTo=2020-01-01T00:00:00Z', []],
    ])('should list with %s across pages', async (query, expected) => {
      expect(await names(query)).toEqual(expected);
    });

    it('should filter by department subtree and author', async () => {
      expect(await names(`sort=title&departmentId=${titles.dept.departmentId}`)).toEqual(['Beta']);
      expect(await names(`sort=title&authorId=${org.userId}`)).toHaveLength(4);
      expect(await names(`sort=title&authorId=${owner.userId}`)).toEqual([]);
    });

    it('should refuse unknown sorts and tampered cursors with 400', async () => {
      expectProblem(await api('GET', '/posts?sort=body', org.accessToken), 400, 'validation-failed');
      expectProblem(await api('GET', '/posts?cursor=garbage', org.accessToken), 400, 'validation-failed');
    });
  });

  it('should read a post by id from one partition only', async () => {
    const post = await create({ title: 'Pruned' });
    // Enough partitions that touching all of them would show.
    const partitions = await db.query<{ n: number }[]>(
      "SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'posts'::regclass",
    );
    expect(partitions[0].n).toBeGreaterThan(1);
    const plan = await db.query<{ 'QUERY PLAN': string }[]>(
      `EXPLAIN SELECT * FROM posts p WHERE p.id = $1 AND p.created_at = $2 AND p.deleted_at IS NULL`,
      [post.id, new Date(post.createdAt)],
    );
    const text = plan.map((row) => row['QUERY PLAN']).join('\n');
    const scanned = new Set(text.match(/on posts_\w+/g));
    expect(scanned.size).toBe(1);
  });
});
