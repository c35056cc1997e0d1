import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { versionEtag, versionFromIfMatch } from '../../core/http/etag';
import { Idempotent } from '../../core/idempotency/idempotent.decorator';
import { ApiPageResponse, type Page } from '../../core/pagination/page.dto';
import { ApiSortQuery } from '../../core/pagination/page-query.dto';
import { AuditedInService } from '../audit/audited.decorator';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import {
  CreatePostDto,
  ListPostsQueryDto,
  PostDto,
  PostIdParams,
  PostSlugParams,
  SchedulePostDto,
  UpdatePostDto,
} from './post.dto';
import type { Post as PostEntity } from './post.entity';
import { PostException, PostExceptionCode } from './post.exception';
import { POST_LIST } from './posts.repository';
import { PostsService } from './posts.service';

const ETAG_HEADER = { ETag: { description: 'The version of the post, for If-Match', schema: { type: 'string' } } };
const AUDITED_HOW = 'PostsService, in the change transaction (before/after)';
const LIFECYCLE =
  'Lifecycle: draft → scheduled | published | archived; scheduled → draft (unschedule) | scheduled (reschedule) | ' +
  'published | archived; published → archived; archived → draft (unarchive). Anything else is 409 ' +
  '`illegal-transition` whose `allowed` names the actions the current status allows. Needs posts:publish.';

@ApiTags('posts')
@ApiProblems(401)
@Controller('posts')
export class PostsController {
  constructor(private readonly posts: PostsService) {}

  @Get()
  @RequirePermission('posts:read')
  @ApiOperation({
    summary: 'List posts',
    description:
      'Live posts in departments where the caller holds posts:read (organization-level posts only with an ' +
      'organization-wide grant). Filters combine with AND. Sorting by publishedAt places never-published ' +
      'posts first (ascending) or last (descending).',
  })
  @ApiSortQuery(POST_LIST)
  @ApiPageResponse(PostDto)
  @ApiProblems(400)
  list(@Query() query: ListPostsQueryDto, @CurrentUser() caller: AuthUser): Promise<Page<PostDto>> {
    return this.posts.list(caller, query);
  }

  @Post()
  @Idempotent()
  @AuditedInService(AUDITED_HOW)
  @RequirePermission('posts:create')
  @ApiOperation({
    summary: 'Create a draft post',
    description:
      'Needs posts:create in the department (organization-wide for an organization-level post). The caller is ' +
      'the author. A given slug that another live post of the organization holds is 409 naming `slug`; a slug ' +
      'derived from the title gets a numeric suffix instead.',
  })
  @ApiCreatedResponse({ type: PostDto, headers: ETAG_HEADER })
  @ApiProblems(400, 403, 404, 409)
  async create(
    @Body() body: CreatePostDto,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PostDto> {
    return withEtag(reply, await this.posts.create(caller, body));
  }

  @Get('by-slug/:slug')
  @RequirePermission('posts:read')
  @ApiOperation({ summary: 'One post by its slug', description: 'Any status; deleted posts are 404.' })
  @ApiOkResponse({ type: PostDto, headers: ETAG_HEADER })
  @ApiProblems(400, 404)
  async getBySlug(
    @Param() { slug }: PostSlugParams,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PostDto> {
    return withEtag(reply, await this.posts.getBySlug(caller, slug));
  }

  @Get(':id')
  @RequirePermission('posts:read')
  @ApiOperation({ summary: 'One post', description: 'Any status; deleted posts are 404.' })
  @ApiOkResponse({ type: PostDto, headers: ETAG_HEADER })
  @ApiProblems(400, 404)
  async get(
    @Param() { id }: PostIdParams,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PostDto> {
    return withEtag(reply, await this.posts.get(caller, id));
  }

  @Patch(':id')
  @AuditedInService(AUDITED_HOW)
  @RequirePermission('posts:update')
  @ApiOperation({
    summary: 'Change a post',
    description:
      'Send the ETag of your last read as If-Match: if the post changed since, nothing is written and the answer ' +
      'is 412. A new slug is reserved and the old one freed in the same transaction (409 naming `slug` when ' +
      'taken). The status changes only through the lifecycle routes; editing a scheduled post keeps it scheduled.',
  })
  @ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'The ETag of GET /posts/:id; a stale one is a 412. Omitted: no precondition.',
  })
  @ApiOkResponse({ type: PostDto, headers: ETAG_HEADER })
  @ApiProblems(400, 403, 404, 409, 412)
  async update(
    @Param() { id }: PostIdParams,
    @Body() body: UpdatePostDto,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PostDto> {
    return withEtag(reply, await this.posts.update(caller, id, body, versionFromIfMatch(ifMatch, staleIfMatch)));
  }

  @Delete(':id')
  @AuditedInService(AUDITED_HOW)
  @HttpCode(204)
  @RequirePermission('posts:delete')
  @ApiOperation({
    summary: 'Delete a post (soft)',
    description:
      'The post disappears from every read (public ones included), its scheduled publication is cancelled, and ' +
      'its slug is free for other posts at once.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 403, 404)
  remove(@Param() { id }: PostIdParams, @CurrentUser() caller: AuthUser): Promise<void> {
    return this.posts.remove(caller, id);
  }

  @Post(':id/publish')
  @AuditedInService(AUDITED_HOW)
  @HttpCode(200)
  @RequirePermission('posts:publish')
  @ApiOperation({ summary: 'Publish now', description: `Sets publishedAt; cancels a pending schedule. ${LIFECYCLE}` })
  @ApiOkResponse({ type: PostDto, headers: ETAG_HEADER })
  @ApiProblems(400, 403, 404, 409)
  async publish(
    @Param() { id }: PostIdParams,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PostDto> {
    return withEtag(reply, await this.posts.publishNow(caller, id));
  }

  @Post(':id/schedule')
  @AuditedInService(AUDITED_HOW)
  @HttpCode(200)
  @RequirePermission('posts:publish')
  @ApiOperation({
    summary: 'Schedule (or reschedule) publication',
    description: `The worker publishes the post at publishAt, which must lie in the future (400 naming publishAt). ${LIFECYCLE}`,
  })
  @ApiOkResponse({ type: PostDto, headers: ETAG_HEADER })
  @ApiProblems(400, 403, 404, 409)
  async schedule(
    @Param() { id }: PostIdParams,
    @Body() body: SchedulePostDto,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PostDto> {
    return withEtag(reply, await this.posts.schedule(caller, id, new Date(body.publishAt)));
  }

  @Post(':id/unschedule')
  @AuditedInService(AUDITED_HOW)
  @HttpCode(200)
  @RequirePermission('posts:publish')
  @ApiOperation({ summary: 'Cancel a scheduled publication', description: `Back to draft. ${LIFECYCLE}` })
  @ApiOkResponse({ type: PostDto, headers: ETAG_HEADER })
  @ApiProblems(400, 403, 404, 409)
  async unschedule(
    @Param() { id }: PostIdParams,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PostDto> {
    return withEtag(reply, await this.posts.unschedule(caller, id));
  }

  @Post(':id/archive')
  @AuditedInService(AUDITED_HOW)
  @HttpCode(200)
  @RequirePermission('posts:publish')
  @ApiOperation({ summary: 'Archive a post', description: `Removes it from public reads. ${LIFECYCLE}` })
  @ApiOkResponse({ type: PostDto, headers: ETAG_HEADER })
  @ApiProblems(400, 403, 404, 409)
  async archive(
    @Param() { id }: PostIdParams,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PostDto> {
    return withEtag(reply, await this.posts.archive(caller, id));
  }

  @Post(':id/unarchive')
  @AuditedInService(AUDITED_HOW)
  @HttpCode(200)
  @RequirePermission('posts:publish')
  @ApiOperation({ summary: 'Bring an archived post back as a draft', description: LIFECYCLE })
  @ApiOkResponse({ type: PostDto, headers: ETAG_HEADER })
  @ApiProblems(400, 403, 404, 409)
  async unarchive(
    @Param() { id }: PostIdParams,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PostDto> {
    return withEtag(reply, await this.posts.unarchive(caller, id));
  }
}

const staleIfMatch = () =>
  new PostException(PostExceptionCode.VersionMismatch, 'If-Match does not name a version of this post.');

function withEtag(reply: FastifyReply, post: PostEntity): PostDto {
  void reply.header('ETag', versionEtag(post));
  return PostDto.from(post);
}
