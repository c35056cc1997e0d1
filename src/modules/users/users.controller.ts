import { Body, Controller, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { versionEtag, versionFromIfMatch } from '../../core/http/etag';
import { ApiPageResponse, type Page } from '../../core/pagination/page.dto';
import { ApiSortQuery } from '../../core/pagination/page-query.dto';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import { CreateUserDto, ListUsersQueryDto, UpdateUserDto, UserDto, UserIdParams } from './user.dto';
import type { User } from './user.entity';
import { UserException, UserExceptionCode } from './user.exception';
import { USER_LIST } from './users-admin.repository';
import { UsersAdminService } from './users-admin.service';
import { Audited } from '../audit/audited.decorator';

const ETAG_HEADER = { ETag: { description: 'The version of the user, for If-Match', schema: { type: 'string' } } };

@ApiTags('users')
@ApiProblems(401)
@Controller('users')
export class UsersController {
  constructor(private readonly admin: UsersAdminService) {}

  @Get()
  @RequirePermission('users:read')
  @ApiOperation({
    summary: 'List users of the organization',
    description:
      'Only users in departments where the caller holds users:read; users without a department only with an ' +
      'organization-wide grant. Filters combine with AND.',
  })
  @ApiSortQuery(USER_LIST)
  @ApiPageResponse(UserDto)
  @ApiProblems(400)
  list(@Query() query: ListUsersQueryDto, @CurrentUser() caller: AuthUser): Promise<Page<UserDto>> {
    return this.admin.list(caller, query);
  }

  @Post()
  @Audited({ action: 'users.create', resourceType: 'users' })
  @RequirePermission('users:create')
  @ApiOperation({
    summary: 'Invite a user',
    description:
      'Creates the user `invited` in the caller’s organization and mails a code with which they choose their ' +
      'password (POST /auth/password/reset). Needs users:create in the department, organization-wide without one.',
  })
  @ApiCreatedResponse({ type: UserDto, headers: ETAG_HEADER })
  @ApiProblems(400, 404, 409)
  async invite(
    @Body() body: CreateUserDto,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserDto> {
    return withEtag(reply, await this.admin.invite(caller, body));
  }

  @Get(':id')
  @RequirePermission('users:read')
  @ApiOperation({ summary: 'One user' })
  @ApiOkResponse({ type: UserDto, headers: ETAG_HEADER })
  @ApiProblems(400, 404)
  async get(
    @Param() { id }: UserIdParams,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserDto> {
    return withEtag(reply, await this.admin.get(caller, id));
  }

  @Patch(':id')
  @Audited({ action: 'users.update', resourceType: 'users', resourceIdParam: 'id' })
  @RequirePermission('users:update')
  @ApiOperation({
    summary: 'Rename a user or move them to another department',
    description: 'A move needs users:update on the current and on the new department.',
  })
  @ApiHeader({ name: 'If-Match', required: false, description: 'The ETag of GET /users/:id; a stale one is a 412' })
  @ApiOkResponse({ type: UserDto, headers: ETAG_HEADER })
  @ApiProblems(400, 404, 412)
  async update(
    @Param() { id }: UserIdParams,
    @Body() body: UpdateUserDto,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserDto> {
    return withEtag(reply, await this.admin.update(caller, id, body, versionFromIfMatch(ifMatch, staleIfMatch)));
  }

  @Post(':id/disable')
  @Audited({ action: 'users.disable', resourceType: 'users', resourceIdParam: 'id' })
  @HttpCode(200)
  @RequirePermission('users:update')
  @ApiOperation({
    summary: 'Disable a user',
    description: 'They can no longer log in, and every session of theirs ends at once. You cannot disable yourself.',
  })
  @ApiOkResponse({ type: UserDto, headers: ETAG_HEADER })
  @ApiProblems(400, 404, 409)
  async disable(
    @Param() { id }: UserIdParams,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserDto> {
    return withEtag(reply, await this.admin.disable(caller, id));
  }

  @Post(':id/enable')
  @Audited({ action: 'users.enable', resourceType: 'users', resourceIdParam: 'id' })
  @HttpCode(200)
  @RequirePermission('users:update')
  @ApiOperation({
    summary: 'Enable a disabled user',
    description: 'Back to active, or to invited if they never set a password. Their old sessions stay ended.',
  })
  @ApiOkResponse({ type: UserDto, headers: ETAG_HEADER })
  @ApiProblems(400, 404)
  async enable(
    @Param() { id }: UserIdParams,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserDto> {
    return withEtag(reply, await this.admin.enable(caller, id));
  }
}

const staleIfMatch = () =>
  new UserException(UserExceptionCode.VersionMismatch, 'If-Match does not name a version of this user.');

function withEtag(reply: FastifyReply, user: User): UserDto {
  void reply.header('ETag', versionEtag(user));
  return UserDto.from(user);
}
