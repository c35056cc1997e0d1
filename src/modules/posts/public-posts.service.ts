import { Injectable } from '@nestjs/common';
import { mapPage, type Page } from '../../core/pagination/page.dto';
import { Paginator } from '../../core/pagination/paginator';
import { RbacException, RbacExceptionCode } from '../rbac/rbac.exception';
import { PublicPostDto, PublicPostSummaryDto, type PublicPostsQueryDto } from './post.dto';
import { PUBLIC_POST_LIST, PostsRepository } from './posts.repository';
import { PublicPostsCache, type CachedResponse } from './public-posts.cache';

function notFound(): RbacException {
  return new RbacException(RbacExceptionCode.NotFound, 'No such resource.');
}

/**
 * Published posts of an organization, for anyone: answers come from PublicPostsCache (evicted by
 * PostsService whenever a published post changes), each with the ETag of its body.
 */
@Injectable()
export class PublicPostsService {
  constructor(
    private readonly repository: PostsRepository,
    private readonly paginator: Paginator,
    private readonly cache: PublicPostsCache,
  ) {}

  async list(orgSlug: string, query: PublicPostsQueryDto): Promise<CachedResponse<Page<PublicPostSummaryDto>>> {
    const organizationId = await this.organizationId(orgSlug);
    // Resolved before the cache, so a tampered cursor is a 400 and never a cache key.
    const request = this.paginator.resolve(query, PUBLIC_POST_LIST);
    const key = `list:${request.limit}:${query.cursor ?? ''}`;
    return this.cache.getOrCompute(organizationId, key, async () => {
      const rows = await this.repository.listPublished(organizationId, request);
      return mapPage(this.paginator.page(rows, request), (post) => PublicPostSummaryDto.from(post));
    });
  }

  /** Unpublished, archived, deleted and unknown posts are all 404, like an unknown organization. */
  async get(orgSlug: string, slug: string): Promise<CachedResponse<PublicPostDto>> {
    const organizationId = await this.organizationId(orgSlug);
    const cached = await this.cache.getOrCompute(organizationId, `post:${slug}`, async () => {
      const post = await this.repository.findBySlug(organizationId, slug);
      return post?.status === 'published' ? PublicPostDto.from(post) : null;
    });
    if (cached.body === null) throw notFound();
    return { body: cached.body, etag: cached.etag };
  }

  private async organizationId(orgSlug: string): Promise<string> {
    const id = await this.repository.organizationIdBySlug(orgSlug);
    if (!id) throw notFound();
    return id;
  }
}
