import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes, randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { bearer, registerOwner, TEST_PASSWORD, uniqueEmail, type TestAccount } from '../helpers/auth';
import { FIXTURES_PER_KIND } from './arbitraries';
import { CursorRef, FIXTURE_KINDS, type FixtureKind, type FixtureRef } from './symbols';

interface Fixture {
  id: string;
  slug?: string;
}

/**
 * The organization the fuzzer works in: an owner (whose bearer token sends most requests) and a few real
 * objects of every kind, created through the API, so that generated ids often name something that exists.
 * Fuzzed requests mutate all of it; `replenish` replaces a fixture that a request deleted, and `create` is
 * called again for a fresh organization when the owner's session or permissions are gone (a fuzzed request
 * deleted the organization, disabled the owner, revoked its role…).
 */
export class FuzzContext {
  readonly fixtures = new Map<FixtureKind, Fixture[]>();
  orgSlug = '';
  /** How many times an organization was set up (1 = never rebuilt). */
  generation = 1;

  private constructor(
    private readonly app: NestFastifyApplication,
    public account: TestAccount,
  ) {}

  static async create(app: NestFastifyApplication): Promise<FuzzContext> {
    const context = new FuzzContext(app, await registerOwner(app, 'fuzz'));
    await context.populate();
    return context;
  }

  /** Starts over in a new organization (same object, so the property keeps using it). */
  async rebuild(): Promise<void> {
    this.account = await registerOwner(this.app, 'fuzz');
    this.fixtures.clear();
    this.generation++;
    await this.populate();
  }

  get token(): string {
    return this.account.accessToken;
  }

  /** The last `page.nextCursor` of each operation (cursors outlive a rebuilt organization: then they are junk). */
  readonly cursors = new Map<string, string>();

  /** Remembers the next-page cursor of a list response. */
  noteCursor(operation: string, body: unknown): void {
    const cursor = (body as { page?: { nextCursor?: unknown } } | null)?.page?.nextCursor;
    if (typeof cursor === 'string') this.cursors.set(operation, cursor);
  }

  lookup(ref: FixtureRef | CursorRef): string {
    if (ref instanceof CursorRef) return this.cursors.get(ref.operation) ?? 'eyJ2IjoxfQ.bm8tY3Vyc29yLXlldA';
    if (ref.field === 'orgSlug') return this.orgSlug;
    const pool = this.fixtures.get(ref.kind) ?? [];
    const fixture = pool[ref.index % Math.max(pool.length, 1)];
    if (!fixture) return '00000000-0000-4000-8000-000000000000';
    return ref.field === 'slug' ? (fixture.slug ?? fixture.id) : fixture.id;
  }

  /** After a request deleted the `index`-th fixture of a kind: a new one in its place. */
  async replenish(kind: FixtureKind, index: number): Promise<void> {
    const pool = this.fixtures.get(kind);
    if (!pool?.length) return;
    const slot = index % pool.length;
    const fresh = await this.make(kind, slot);
    if (fresh) pool[slot] = fresh;
  }

  /**
   * Before fuzzing the public routes: the organization's slug as it is now, and published posts (earlier
   * requests archive, unpublish or delete them).
   */
  async refreshPublished(): Promise<void> {
    if (!(await this.healthy())) await this.rebuild();
    const org = await this.call('GET', '/api/v1/organizations/current');
    this.orgSlug = (org as { slug: string }).slug;
    const pool = this.fixtures.get('publishedPost') ?? [];
    for (const [slot, fixture] of pool.entries()) {
      const res = await this.app.inject({
        method: 'GET',
        url: `/api/v1/posts/${fixture.id}`,
        headers: bearer(this.token),
      });
      if (res.statusCode !== 200 || res.json<{ status: string }>().status !== 'published') {
        pool[slot] = (await this.make('publishedPost', slot)) ?? fixture;
      }
    }
  }

  /** Whether the owner's bearer token still works with full permissions. */
  async healthy(): Promise<boolean> {
    const me = await this.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(this.token) });
    if (me.statusCode !== 200) return false;
    const roles = await this.app.inject({ method: 'GET', url: '/api/v1/roles', headers: bearer(this.token) });
    return roles.statusCode === 200;
  }

  private async populate(): Promise<void> {
    const org = await this.call('GET', '/api/v1/organizations/current');
    this.orgSlug = (org as { slug: string }).slug;
    this.fixtures.set('owner', [{ id: this.account.userId }]);
    // Order matters: members need departments and roles; assignments need members; activities customers.
    const order: FixtureKind[] = [
      'department',
      'role',
      'member',
      'assignment',
      'customer',
      'activity',
      'post',
      'publishedPost',
      'customerImport',
      'ping',
      'session',
      'media',
      'upload',
      'auditLog',
    ];
    for (const kind of order) {
      const pool: Fixture[] = [];
      this.fixtures.set(kind, pool);
      for (let i = 0; i < FIXTURES_PER_KIND; i++) {
        const fixture = await this.make(kind, i);
        if (fixture) pool.push(fixture);
      }
    }
    const missing = FIXTURE_KINDS.filter((kind) => !this.fixtures.has(kind));
    if (missing.length) throw new Error(`fuzz context: no fixtures of ${missing.join(', ')}`);
  }

  private first(kind: FixtureKind, index = 0): string | undefined {
    const pool = this.fixtures.get(kind) ?? [];
    return pool[index % Math.max(pool.length, 1)]?.id;
  }

  private async make(kind: FixtureKind, index: number): Promise<Fixture | undefined> {
    const suffix = randomUUID().slice(0, 8);
    switch (kind) {
      case 'owner':
        return { id: this.account.userId };
      case 'department': {
        const parentId = index > 0 ? this.first('department') : undefined;
        return this.created(await this.call('POST', '/api/v1/departments', { name: `dept-${suffix}`, parentId }));
      }
      case 'role':
        return this.created(
          await this.call('POST', '/api/v1/roles', {
            name: `role-${suffix}`,
            permissions: ['customers:read', 'posts:*'],
          }),
        );
      case 'member':
        return this.created(
          await this.call('POST', '/api/v1/users', {
            email: uniqueEmail('fuzz-member'),
            name: `Member ${suffix}`,
            departmentId: this.first('department', index),
          }),
        );
      case 'assignment': {
        const userId = this.first('member', index);
        if (!userId) return undefined;
        return this.created(
          await this.call('POST', `/api/v1/users/${userId}/roles`, {
            roleId: this.first('role', index),
            scope: { type: 'department', departmentId: this.first('department', index) },
          }),
        );
      }
      case 'customer':
        return this.created(
          await this.call('POST', '/api/v1/customers', {
            name: `Customer ${suffix}`,
            email: `c-${suffix}@example.com`,
            departmentId: index % 2 ? this.first('department') : undefined,
            tags: ['vip'],
          }),
        );
      case 'activity': {
        const customerId = this.first('customer', index);
        if (!customerId) return undefined;
        return this.created(
          await this.call('POST', `/api/v1/customers/${customerId}/activities`, { type: 'note', body: 'fuzz' }),
        );
      }
      case 'post': {
        const post = await this.call('POST', '/api/v1/posts', { title: `Post ${suffix}`, body: 'fuzz', tags: ['a'] });
        return { id: (post as Fixture).id, slug: (post as Fixture).slug };
      }
      case 'publishedPost': {
        const post = (await this.call('POST', '/api/v1/posts', { title: `Published ${suffix}` })) as Fixture;
        await this.call('POST', `/api/v1/posts/${post.id}/publish`);
        return { id: post.id, slug: post.slug };
      }
      case 'customerImport': {
        const res = await this.app.inject({
          method: 'POST',
          url: '/api/v1/customers/import',
          headers: { ...bearer(this.token), 'content-type': 'text/csv' },
          payload: `name,email\r\nImported ${suffix},i-${suffix}@example.com\r\n`,
        });
        if (res.statusCode !== 202) throw new Error(`fuzz context: import ${res.statusCode} ${res.body}`);
        return this.created(res.json());
      }
      case 'ping':
        return this.created(await this.call('POST', '/api/v1/system/pings', {}));
      case 'session': {
        // A second session of the owner: deleting it must not end the one the fuzzer sends requests with.
        const login = await this.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email: this.account.email, password: TEST_PASSWORD },
        });
        if (login.statusCode !== 200) return undefined;
        const token = login.json<{ accessToken: string }>().accessToken;
        const me = await this.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) });
        return me.statusCode === 200 ? { id: me.json<{ sessionId: string }>().sessionId } : undefined;
      }
      case 'media': {
        // A small PNG through the multipart upload (the one operation the fuzzer does not generate).
        const boundary = `----fuzz${randomBytes(8).toString('hex')}`;
        const image = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0080ff' } })
          .png()
          .toBuffer();
        const payload = Buffer.concat([
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="fuzz-${suffix}.png"\r\n` +
              'Content-Type: image/png\r\n\r\n',
          ),
          image,
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ]);
        const res = await this.app.inject({
          method: 'POST',
          url: '/api/v1/media',
          headers: { ...bearer(this.token), 'content-type': `multipart/form-data; boundary=${boundary}` },
          payload,
        });
        if (res.statusCode !== 201) throw new Error(`fuzz context: media upload ${res.statusCode} ${res.body}`);
        return this.created(res.json());
      }
      case 'upload':
        return this.created(await this.call('POST', '/api/v1/media/uploads', { filename: `fuzz-${suffix}.png` }));
      case 'auditLog': {
        // Audit entries may be written asynchronously; without any, the pool stays empty (random uuids).
        const res = await this.app.inject({
          method: 'GET',
          url: `/api/v1/audit-logs?limit=${FIXTURES_PER_KIND}`,
          headers: bearer(this.token),
        });
        const entries = res.statusCode === 200 ? res.json<{ data: Fixture[] }>().data : [];
        return entries[index] ? { id: entries[index].id } : undefined;
      }
    }
  }

  private created(body: unknown): Fixture {
    return { id: (body as Fixture).id };
  }

  private async call(method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>): Promise<unknown> {
    const res = await this.app.inject({ method, url, headers: bearer(this.token), ...(payload ? { payload } : {}) });
    if (res.statusCode >= 300) throw new Error(`fuzz context: ${method} ${url} answered ${res.statusCode} ${res.body}`);
    return res.body ? res.json() : undefined;
  }
}
