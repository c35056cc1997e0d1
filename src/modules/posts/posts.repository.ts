import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository, SelectQueryBuilder } from 'typeorm';
import { uuidv7Time } from '../../core/database/uuidv7';
import { applyKeysetPage, type PageRequest } from '../../core/pagination/keyset';
import { defineList } from '../../core/pagination/sort';
import { PermissionService, type ReadableDepartments } from '../rbac/decision/permission.service';
import { Post, type PostStatus } from './post.entity';
import { escapeLike } from '../../core/database/like-pattern';

/**
 * GET /posts. createdAt and title are served by partial indexes (organization_id, column, id). publishedAt
 * sorts never-published posts as if published at the epoch (the keyset comparison needs a non-null key).
 */
export const POST_LIST = defineList({
  scope: 'posts',
  idColumn: 'p.id',
  sorts: [
    { field: 'createdAt', column: 'p.created_at', type: 'date' },
    { field: 'publishedAt', column: "COALESCE(p.published_at, 'epoch'::timestamptz)", type: 'date' },
    { field: 'title', column: 'p.title', type: 'string' },
  ],
  defaultSort: '-createdAt',
});

/** The cursor value of a post in a POST_LIST page sorted by publishedAt (matches the COALESCE above). */
export const EPOCH = new Date(0);

/** GET /public/:orgSlug/posts: published posts, newest publication first (posts_org_published_idx). */
export const PUBLIC_POST_LIST = defineList({
  scope: 'public-posts',
  idColumn: 'p.id',
  sorts: [{ field: 'publishedAt', column: 'p.published_at', type: 'date' }],
  defaultSort: '-publishedAt',
});

export interface PostListFilters {
  statuses?: PostStatus[];
  authorId?: string;
  /** Path of the department whose subtree to show; null when the requested department does not exist. */
  departmentPath?: string | null;
  tags?: string[];
  /** Matched as a case-insensitive substring of title or excerpt. */
  q?: string;
  publishedFrom?: Date;
  publishedTo?: Date;
}

type PostChanges = Partial<Omit<Post, 'id' | 'organizationId' | 'version' | 'createdAt' | 'updatedAt'>>;

/**
 * The queries of posts. A post is always found by (id, created_at), created_at being the time inside its
 * UUIDv7 id, so the planner prunes to one partition; by slug through post_slugs (unpartitioned, one row per
 * live post) which gives the same pair.
 */
@Injectable()
export class PostsRepository {
  constructor(
    @InjectRepository(Post) private readonly posts: Repository<Post>,
    private readonly permissions: PermissionService,
  ) {}

  private repo(manager?: EntityManager): Repository<Post> {
    return manager ? manager.getRepository(Post) : this.posts;
  }

  list(organizationId: string, scope: ReadableDepartments, filters: PostListFilters, page: PageRequest) {
    const readable = this.permissions.readableCondition(scope, 'p.department_id');
    const qb = this.posts
      .createQueryBuilder('p')
      .where('p.organization_id = :organizationId', { organizationId })
      .andWhere('p.deleted_at IS NULL')
      .andWhere(readable.sql, readable.params);
    applyFilters(qb, organizationId, filters);
    return applyKeysetPage(qb, page).getMany();
  }

  /** One page of the organization's published posts. */
  listPublished(organizationId: string, page: PageRequest): Promise<Post[]> {
    const qb = this.posts
      .createQueryBuilder('p')
      .where('p.organization_id = :organizationId', { organizationId })
      .andWhere("p.deleted_at IS NULL AND p.status = 'published' AND p.published_at IS NOT NULL");
    return applyKeysetPage(qb, page).getMany();
  }

  /**
   * A live post by id, within one organization when `organizationId` is given (the worker knows only the
   * post). `lock` takes a row lock for read-modify-write inside a transaction.
   */
  findById(
    id: string,
    options: { organizationId?: string; createdAt?: Date; manager?: EntityManager; lock?: boolean } = {},
  ): Promise<Post | null> {
    const qb = this.repo(options.manager)
      .createQueryBuilder('p')
      .where('p.id = :id AND p.created_at = :createdAt', { id, createdAt: options.createdAt ?? uuidv7Time(id) })
      .andWhere('p.deleted_at IS NULL');
    if (options.organizationId) qb.andWhere('p.organization_id = :organizationId', options);
    if (options.lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  /** A live post of the organization by slug. */
  async findBySlug(organizationId: string, slug: string): Promise<Post | null> {
    const rows = await this.posts.query<{ id: string; createdAt: Date }[]>(
      'SELECT post_id AS id, post_created_at AS "createdAt" FROM post_slugs WHERE organization_id = $1 AND slug = $2',
      [organizationId, slug],
    );
    const key = rows[0];
    return key ? this.findById(key.id, { organizationId, createdAt: key.createdAt }) : null;
  }

  async insert(post: Post, manager: EntityManager): Promise<void> {
    await manager.getRepository(Post).insert(post);
  }

  /** Reserves `slug` for the post; false (nothing written) when another post of the organization holds it. */
  async reserveSlug(post: Pick<Post, 'organizationId' | 'id' | 'createdAt'>, slug: string, manager: EntityManager) {
    const rows = await manager.query<unknown[]>(
      `INSERT INTO post_slugs (organization_id, slug, post_id, post_created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (organization_id, slug) DO NOTHING RETURNING slug`,
      [post.organizationId, slug, post.id, post.createdAt],
    );
    return rows.length > 0;
  }

  /**
   * Moves the post's reservation to `slug`; false when another post holds it. A concurrent move to the same
   * slug fails on post_slugs_pkey (unique violation) instead.
   */
  async moveSlug(post: Pick<Post, 'organizationId' | 'id'>, slug: string, manager: EntityManager) {
    const [, affected] = await manager.query<[unknown[], number]>(
      `UPDATE post_slugs SET slug = $3 WHERE post_id = $2
          AND NOT EXISTS (SELECT 1 FROM post_slugs WHERE organization_id = $1 AND slug = $3)`,
      [post.organizationId, post.id, slug],
    );
    return affected > 0;
  }

  async releaseSlug(postId: string, manager: EntityManager): Promise<void> {
    await manager.query('DELETE FROM post_slugs WHERE post_id = $1', [postId]);
  }

  /** Applies `changes`, bumps the version and updated_at; returns the row as stored. */
  async update(post: Post, changes: PostChanges, manager: EntityManager): Promise<Post> {
    await manager
      .getRepository(Post)
      .createQueryBuilder()
      .update(Post)
      .set({ ...changes, version: () => 'version + 1', updatedAt: () => 'now()' })
      .where('id = :id AND created_at = :createdAt', { id: post.id, createdAt: post.createdAt })
      .execute();
    const stored = await manager
      .getRepository(Post)
      .createQueryBuilder('p')
      .where('p.id = :id AND p.created_at = :createdAt', { id: post.id, createdAt: post.createdAt })
      .getOne();
    if (!stored) throw new Error(`post ${post.id} vanished inside its own transaction`);
    return stored;
  }

  async organizationIdBySlug(slug: string): Promise<string | null> {
    const rows = await this.posts.query<{ id: string }[]>('SELECT id FROM organizations WHERE slug = $1', [slug]);
    return rows[0]?.id ?? null;
  }
}

function applyFilters(qb: SelectQueryBuilder<Post>, organizationId: string, filters: PostListFilters): void {
  if (filters.statuses?.length) qb.andWhere('p.status IN (:...statuses)', { statuses: filters.statuses });
  if (filters.authorId) qb.andWhere('p.author_id = :authorId', { authorId: filters.authorId });
  if (filters.departmentPath === null) qb.andWhere('FALSE');
  else if (filters.departmentPath !== undefined) {
    qb.andWhere(
      `p.department_id IN (SELECT fd.id FROM departments fd
        WHERE fd.organization_id = :organizationId AND fd.path LIKE :subtree ESCAPE '\\')`,
      { organizationId, subtree: `${escapeLike(filters.departmentPath)}%` },
    );
  }
  // && (overlap) is what the GIN index on tags serves.
  if (filters.tags?.length) qb.andWhere('p.tags && :tags::text[]', { tags: filters.tags });
  if (filters.q !== undefined) {
    qb.andWhere("(p.title ILIKE :q ESCAPE '\\' OR p.excerpt ILIKE :q ESCAPE '\\')", {
      q: `%${escapeLike(filters.q)}%`,
    });
  }
  if (filters.publishedFrom) qb.andWhere('p.published_at >= :publishedFrom', { publishedFrom: filters.publishedFrom });
  if (filters.publishedTo) qb.andWhere('p.published_at < :publishedTo', { publishedTo: filters.publishedTo });
}
