import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { Public } from '../../core/http/public.decorator';
import { ApiPageResponse, type Page } from '../../core/pagination/page.dto';
import {
  PublicPostDto,
  PublicPostParams,
  PublicPostsParams,
  PublicPostsQueryDto,
  PublicPostSummaryDto,
} from './post.dto';
import type { CachedResponse } from './public-posts.cache';
import { PublicPostsService } from './public-posts.service';

const CACHE_CONTROL = 'public, max-age=60';
const HEADERS = {
  ETag: { description: 'Hash of the body; send it back as If-None-Match to revalidate', schema: { type: 'string' } },
  'Cache-Control': { description: CACHE_CONTROL, schema: { type: 'string' } },
};
const IF_NONE_MATCH = {
  name: 'If-None-Match',
  required: false,
  description: 'The ETag of an earlier answer: 304 without a body while it is still current.',
};

@ApiTags('public')
@Public()
@Controller('public/:orgSlug/posts')
export class PublicPostsController {
  constructor(private readonly posts: PublicPostsService) {}

  @Get()
  @ApiOperation({
    summary: 'Published posts of an organization (no authentication)',
    description:
      'Newest publication first, keyset pages (`limit`, `cursor`). Cached in Redis until a published post of ' +
      'the organization changes; clients may cache for 60 s and revalidate with If-None-Match.',
  })
  @ApiHeader(IF_NONE_MATCH)
  @ApiPageResponse(PublicPostSummaryDto)
  @ApiResponse({ status: 200, headers: HEADERS, description: 'A page of published posts' })
  @ApiResponse({ status: 304, description: 'Not modified since the ETag sent as If-None-Match' })
  @ApiProblems(400, 404)
  async list(
    @Param() { orgSlug }: PublicPostsParams,
    @Query() query: PublicPostsQueryDto,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Page<PublicPostSummaryDto> | undefined> {
    return conditional(reply, ifNoneMatch, await this.posts.list(orgSlug, query));
  }

  @Get(':slug')
  @ApiOperation({
    summary: 'One published post by slug (no authentication)',
    description: 'Unknown organizations and posts that are not published are 404.',
  })
  @ApiHeader(IF_NONE_MATCH)
  @ApiOkResponse({ type: PublicPostDto, headers: HEADERS })
  @ApiResponse({ status: 304, description: 'Not modified since the ETag sent as If-None-Match' })
  @ApiProblems(400, 404)
  async get(
    @Param() { orgSlug, slug }: PublicPostParams,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PublicPostDto | undefined> {
    return conditional(reply, ifNoneMatch, await this.posts.get(orgSlug, slug));
  }
}

/** Sets the validators; a matching If-None-Match (or `*`) answers 304 without a body. */
function conditional<T>(
  reply: FastifyReply,
  ifNoneMatch: string | undefined,
  cached: CachedResponse<T>,
): T | undefined {
  void reply.header('ETag', cached.etag).header('Cache-Control', CACHE_CONTROL);
  const tags = (ifNoneMatch ?? '').split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (tags.includes(cached.etag) || tags.includes('*')) {
    void reply.status(304);
    return undefined;
  }
  return cached.body;
}
