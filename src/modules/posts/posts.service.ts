import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { isUniqueViolation } from '../../core/database/unique-violation';
import { uuidv7 } from '../../core/database/uuidv7';
import { ValidationException } from '../../core/exceptions/app.exception';
import { mapPage, type Page } from '../../core/pagination/page.dto';
import { Paginator } from '../../core/pagination/paginator';
import { diffChanges } from '../audit/audit-changes';
import { AuditService } from '../audit/audit.service';
import type { AuthUser } from '../auth/auth-user';
import { MediaCatalog } from '../media/media-catalog';
import { PermissionService } from '../rbac/decision/permission.service';
import type { PermissionKey } from '../rbac/permission';
import { RbacException, RbacExceptionCode } from '../rbac/rbac.exception';
import { PostDto, SLUG_MAX_LENGTH, type CreatePostDto, type ListPostsQueryDto, type UpdatePostDto } from './post.dto';
import type { Post } from './post.entity';
import { PostException, PostExceptionCode } from './post.exception';
import { PostSchedulingPort } from './post-scheduling.port';
import { allowedActions, canApply, targetStatus, type PostAction } from './post-transitions';
import { EPOCH, POST_LIST, PostsRepository, type PostListFilters } from './posts.repository';
import { PublicPostsCache } from './public-posts.cache';

/** post_slugs' primary key: (organization_id, slug). */
const SLUG_KEY = 'post_slugs_pkey';

const AUDITED_FIELDS = [
  'title',
  'slug',
  'body',
  'excerpt',
  'status',
  'publishAt',
  'publishedAt',
  'tags',
  'departmentId',
  'coverMediaId',
  'deletedAt',
] as const;

type PostChanges = Partial<Pick<Post, (typeof AUDITED_FIELDS)[number]>>;

function noSuchPost(): RbacException {
  return new RbacException(RbacExceptionCode.NotFound, 'No such resource.');
}

function slugTaken(): PostException {
  return new PostException(PostExceptionCode.SlugTaken, 'Another post of this organization already has this slug.', {
    field: 'slug',
  });
}

function snapshot(post: Post): Record<string, unknown> {
  return Object.fromEntries(AUDITED_FIELDS.map((field) => [field, post[field]]));
}

/** A URL slug from a title: ASCII letters and digits, dash-separated, at most SLUG_MAX_LENGTH; `post` if nothing is left. */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_MAX_LENGTH - 8)
    .replace(/-+$/, '');
  return slug || 'post';
}

/**
 * Posts of the caller's organization: list, create, read, change, soft delete, and the lifecycle
 * (publish, schedule, unschedule, archive, unarchive; see post-transitions.ts). Every change increments the
 * version and is audited in its transaction. In that transaction the scheduler (PostSchedulingPort) writes a
 * scheduled post's job to the outbox; after commit the public cache is evicted when a published post changed.
 */
@Injectable()
export class PostsService {
  constructor(
    private readonly repository: PostsRepository,
    private readonly permissions: PermissionService,
    private readonly paginator: Paginator,
    private readonly audit: AuditService,
    private readonly tx: TransactionRunner,
    private readonly scheduler: PostSchedulingPort,
    private readonly publicCache: PublicPostsCache,
    private readonly mediaCatalog: MediaCatalog,
  ) {}

  async list(caller: AuthUser, query: ListPostsQueryDto): Promise<Page<PostDto>> {
    const filters = await this.filtersOf(caller, query);
    const scope = await this.permissions.readableDepartments(caller, 'posts:read');
    const request = this.paginator.resolve(query, POST_LIST);
    const rows = await this.repository.list(caller.organizationId, scope, filters, request);
    const key = request.sort.field === 'publishedAt' ? { sortValue: (post: Post) => post.publishedAt ?? EPOCH } : {};
    return mapPage(this.paginator.page(rows, request, key), (post) => PostDto.from(post));
  }

  async create(caller: AuthUser, input: CreatePostDto): Promise<Post> {
    const departmentId = input.departmentId ?? null;
    await this.permissions.assertAllowedIn(caller, 'posts:create', departmentId);
    try {
      return await this.tx.run(async (m) => {
        if (input.coverMediaId) await this.mediaCatalog.assertCover(caller, input.coverMediaId, m);
        const now = new Date();
        const post: Post = {
          // created_at is the time inside the id: it names the partition of every later lookup by id.
          id: uuidv7(now.getTime()),
          createdAt: now,
          organizationId: caller.organizationId,
          departmentId,
          authorId: caller.id,
          coverMediaId: input.coverMediaId ?? null,
          title: input.title,
          slug: input.slug ?? '',
          body: input.body ?? '',
          excerpt: input.excerpt ?? null,
          status: 'draft',
          publishAt: null,
          publishedAt: null,
          tags: input.tags ?? [],
          version: 1,
          updatedAt: now,
          deletedAt: null,
        };
        post.slug = await this.reserveSlug(post, input.slug, m);
        await this.repository.insert(post, m);
        await this.record(caller, 'posts.create', post, null, snapshot(post), m);
        return post;
      });
    } catch (error) {
      if (isUniqueViolation(error, SLUG_KEY)) throw slugTaken();
      throw error;
    }
  }

  async get(caller: AuthUser, id: string): Promise<Post> {
    const post = await this.repository.findById(id, { organizationId: caller.organizationId });
    if (!post) throw noSuchPost();
    await this.permissions.assertAllowed(caller, 'posts:read', post.departmentId);
    return post;
  }

  async getBySlug(caller: AuthUser, slug: string): Promise<Post> {
    const post = await this.repository.findBySlug(caller.organizationId, slug);
    if (!post) throw noSuchPost();
    await this.permissions.assertAllowed(caller, 'posts:read', post.departmentId);
    return post;
  }

  /** `expectedVersion` comes from If-Match; a stale one is a 412 and nothing changes. */
  async update(caller: AuthUser, id: string, input: UpdatePostDto, expectedVersion?: number): Promise<Post> {
    try {
      return await this.tx.run(async (m) => {
        const post = await this.locked(caller, id, 'posts:update', m);
        assertVersion(post, expectedVersion);
        const changes = changesOf(post, input);
        if (changes.departmentId !== undefined)
          await this.permissions.assertAllowedIn(caller, 'posts:update', changes.departmentId);
        if (Object.keys(changes).length === 0) return post;
        if (changes.coverMediaId) await this.mediaCatalog.assertCover(caller, changes.coverMediaId, m);
        if (changes.slug !== undefined && !(await this.repository.moveSlug(post, changes.slug, m))) throw slugTaken();
        const updated = await this.repository.update(post, changes, m);
        await this.record(caller, 'posts.update', post, snapshot(post), snapshot(updated), m);
        await this.afterChange(post, updated);
        return updated;
      });
    } catch (error) {
      if (isUniqueViolation(error, SLUG_KEY)) throw slugTaken();
      throw error;
    }
  }

  /** Soft delete: the post disappears from every read and its slug is released for other posts at once. */
  async remove(caller: AuthUser, id: string): Promise<void> {
    await this.tx.run(async (m) => {
      const post = await this.locked(caller, id, 'posts:delete', m);
      await this.repository.releaseSlug(post.id, m);
      const deleted = await this.repository.update(post, { deletedAt: new Date() }, m);
      await this.record(caller, 'posts.delete', post, snapshot(post), snapshot(deleted), m);
      await this.afterChange(post, deleted);
    });
  }

  /** POST /posts/:id/publish: through `publish`, the same method the scheduled job calls. */
  async publishNow(caller: AuthUser, id: string): Promise<Post> {
    return this.tx.run(async (m) => {
      const post = await this.lockedForAction(caller, id, 'publish', m);
      await this.publish(post.id, post.createdAt, undefined, caller);
      return (await this.repository.findById(post.id, { createdAt: post.createdAt, manager: m })) ?? post;
    });
  }

  /** Schedules (or reschedules) publication at `publishAt`, which must lie in the future. */
  async schedule(caller: AuthUser, id: string, publishAt: Date): Promise<Post> {
    if (!(publishAt.getTime() > Date.now())) {
      throw new ValidationException([{ field: 'publishAt', message: 'publishAt must lie in the future' }]);
    }
    return this.transition(caller, id, 'schedule', { status: 'scheduled', publishAt });
  }

  unschedule(caller: AuthUser, id: string): Promise<Post> {
    return this.transition(caller, id, 'unschedule', { status: 'draft', publishAt: null });
  }

  archive(caller: AuthUser, id: string): Promise<Post> {
    return this.transition(caller, id, 'archive', { status: 'archived' });
  }

  unarchive(caller: AuthUser, id: string): Promise<Post> {
    return this.transition(caller, id, 'unarchive', { status: 'draft' });
  }

  /**
   * Publishes the post (id, createdAt) if it may be: status draft or scheduled, and, for a scheduled job
   * (`expectedVersion` given), still at the version the job was created for; otherwise does nothing and
   * returns false. Idempotent and safe to race: the row lock serializes callers, and the first one moves the
   * status on, so a second (another worker, a retry) finds nothing to do. Audited as `posts.publish` (by
   * `actor`, or by nobody for the worker), then the public cache is evicted.
   */
  async publish(postId: string, createdAt: Date, expectedVersion?: number, actor?: AuthUser): Promise<boolean> {
    return this.tx.run(async (m) => {
      const post = await this.repository.findById(postId, { createdAt, manager: m, lock: true });
      if (!post || (post.status !== 'draft' && post.status !== 'scheduled')) return false;
      if (expectedVersion !== undefined && post.version !== expectedVersion) return false;
      const published = await this.repository.update(post, { status: 'published', publishedAt: new Date() }, m);
      await this.audit.record(
        {
          organizationId: post.organizationId,
          actorId: actor?.id ?? null,
          action: 'posts.publish',
          resourceType: 'posts',
          resourceId: post.id,
          outcome: 'success',
          changes: diffChanges(snapshot(post), snapshot(published)),
          details: expectedVersion === undefined ? null : { scheduledVersion: expectedVersion },
        },
        m,
      );
      // A manual publish supersedes the post's job; the job's own call must not cancel itself while active.
      if (post.status === 'scheduled' && expectedVersion === undefined)
        await this.scheduler.cancel(post.id, published.version);
      await this.tx.afterCommit(() => this.publicCache.evict(post.organizationId));
      return true;
    });
  }

  private async transition(
    caller: AuthUser,
    id: string,
    action: PostAction,
    changes: Pick<PostChanges, 'status' | 'publishAt'>,
  ): Promise<Post> {
    return this.tx.run(async (m) => {
      const post = await this.lockedForAction(caller, id, action, m);
      const updated = await this.repository.update(post, { ...changes, status: targetStatus(action) }, m);
      await this.record(caller, `posts.${action}`, post, snapshot(post), snapshot(updated), m);
      await this.afterChange(post, updated);
      return updated;
    });
  }

  /**
   * What a change means outside the database, told in its transaction and carried out once it commits: a
   * scheduled post's job is (re)placed with the new version, since a job only publishes the version it was made for (so an edit of a scheduled post keeps it
   * scheduled); a post that stops being scheduled loses its job; the public cache forgets a published post
   * that changed.
   */
  private async afterChange(before: Post, after: Post): Promise<void> {
    const live = after.deletedAt === null;
    if (live && after.status === 'scheduled' && after.publishAt) {
      const job = { ...after, publishAt: after.publishAt };
      await this.scheduler.schedule(job);
    } else if (before.status === 'scheduled') {
      await this.scheduler.cancel(before.id, after.version);
    }
    if (before.status === 'published' || after.status === 'published')
      await this.tx.afterCommit(() => this.publicCache.evict(before.organizationId));
  }

  private async locked(caller: AuthUser, id: string, permission: PermissionKey, m: EntityManager): Promise<Post> {
    const post = await this.repository.findById(id, { organizationId: caller.organizationId, manager: m, lock: true });
    if (!post) throw noSuchPost();
    await this.permissions.assertAllowed(caller, permission, post.departmentId, 'posts:read');
    return post;
  }

  private async lockedForAction(caller: AuthUser, id: string, action: PostAction, m: EntityManager): Promise<Post> {
    const post = await this.locked(caller, id, 'posts:publish', m);
    if (!canApply(post.status, action)) {
      const allowed = allowedActions(post.status);
      throw new PostException(
        PostExceptionCode.IllegalTransition,
        `A ${post.status} post cannot be sent to ${action}; allowed: ${allowed.join(', ') || 'none'}.`,
        { currentStatus: post.status, action, allowed },
      );
    }
    return post;
  }

  /** The explicit slug, refused when taken; else the title's slug, with -2, -3… until a free one. */
  private async reserveSlug(post: Post, requested: string | undefined, m: EntityManager): Promise<string> {
    if (requested !== undefined) {
      if (!(await this.repository.reserveSlug(post, requested, m))) throw slugTaken();
      return requested;
    }
    const base = slugify(post.title);
    for (let n = 1; n <= 50; n++) {
      const slug = n === 1 ? base : `${base}-${n}`;
      if (await this.repository.reserveSlug(post, slug, m)) return slug;
    }
    const slug = `${base}-${post.id.slice(-12)}`;
    if (!(await this.repository.reserveSlug(post, slug, m))) throw slugTaken();
    return slug;
  }

  private async filtersOf(caller: AuthUser, query: ListPostsQueryDto): Promise<PostListFilters> {
    const filters: PostListFilters = {
      statuses: query.status,
      authorId: query.authorId,
      tags: query.tag,
      q: query.q,
      publishedFrom: query.publishedFrom === undefined ? undefined : new Date(query.publishedFrom),
      publishedTo: query.publishedTo === undefined ? undefined : new Date(query.publishedTo),
    };
    if (filters.publishedFrom && filters.publishedTo && filters.publishedFrom > filters.publishedTo) {
      throw new ValidationException([
        { field: 'publishedTo', message: 'publishedTo must not be before publishedFrom' },
      ]);
    }
    if (query.departmentId)
      filters.departmentPath = await this.permissions.departmentPath(caller.organizationId, query.departmentId);
    return filters;
  }

  private async record(
    caller: AuthUser,
    action: string,
    post: Post,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
    m: EntityManager,
  ): Promise<void> {
    await this.audit.record(
      {
        organizationId: post.organizationId,
        actorId: caller.id,
        action,
        resourceType: 'posts',
        resourceId: post.id,
        outcome: 'success',
        changes: diffChanges(before, after),
      },
      m,
    );
  }
}

function assertVersion(post: Post, expectedVersion: number | undefined): void {
  if (expectedVersion !== undefined && expectedVersion !== post.version) {
    throw new PostException(PostExceptionCode.VersionMismatch, 'The post has changed since you read it.', {
      currentVersion: post.version,
    });
  }
}

/** The fields of `input` that differ from the post's (arrays compared by value). */
function changesOf(post: Post, input: UpdatePostDto): PostChanges {
  const changes: PostChanges = {};
  const set = <K extends keyof PostChanges>(key: K, value: PostChanges[K] | undefined) => {
    if (value !== undefined && JSON.stringify(value) !== JSON.stringify(post[key])) changes[key] = value;
  };
  set('title', input.title);
  set('slug', input.slug);
  set('body', input.body);
  set('excerpt', input.excerpt);
  set('tags', input.tags);
  set('departmentId', input.departmentId);
  set('coverMediaId', input.coverMediaId);
  return changes;
}
