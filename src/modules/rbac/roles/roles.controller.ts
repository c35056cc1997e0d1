import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../../core/http/api-problems.decorator';
import type { AuthUser } from '../../auth/auth-user';
import { CurrentUser } from '../../auth/auth.decorators';
import { RequirePermission } from '../decision/require-permission.decorator';
import {
  CreateRoleDto,
  DeleteRoleQueryDto,
  RoleDto,
  RoleIdParams,
  SetRolePermissionsDto,
  UpdateRoleDto,
} from './role.dto';
import type { RoleWithPermissions } from './role.repository';
import { RoleService } from './role.service';
import { AuditedInService } from '../../audit/audited.decorator';

const toDto = ({ role, permissions }: RoleWithPermissions): RoleDto => RoleDto.from(role, permissions);

@ApiTags('roles')
@ApiProblems(401)
@Controller('roles')
export class RolesController {
  constructor(private readonly roles: RoleService) {}

  @Get()
  @RequirePermission('roles:read')
  @ApiOperation({ summary: "The organization's roles with their permissions: system roles first, then custom ones" })
  @ApiOkResponse({ type: [RoleDto] })
  async list(@CurrentUser() user: AuthUser): Promise<RoleDto[]> {
    return (await this.roles.list(user.organizationId)).map(toDto);
  }

  @Get(':id')
  @RequirePermission('roles:read')
  @ApiOperation({ summary: 'One role with its permissions' })
  @ApiOkResponse({ type: RoleDto })
  @ApiProblems(400, 404)
  async get(@Param() params: RoleIdParams, @CurrentUser() user: AuthUser): Promise<RoleDto> {
    return toDto(await this.roles.get(user.organizationId, params.id));
  }

  @Post()
  @AuditedInService('RoleService, in the transaction of the change')
  @RequirePermission('roles:create')
  @ApiOperation({
    summary: 'Create a role',
    description:
      'Permissions are exact keys or wildcards; unknown keys are a 400 naming them. You must hold every pattern ' +
      'organization-wide (else 403 privilege-escalation). Names are unique per organization, case-insensitively (409).',
  })
  @ApiCreatedResponse({ type: RoleDto })
  @ApiProblems(400, 403, 409)
  async create(@Body() body: CreateRoleDto, @CurrentUser() user: AuthUser): Promise<RoleDto> {
    return toDto(await this.roles.create(user, body));
  }

  @Patch(':id')
  @AuditedInService('RoleService, in the transaction of the change')
  @RequirePermission('roles:update')
  @ApiOperation({ summary: 'Rename a role or change its description (system roles cannot be renamed: 409)' })
  @ApiOkResponse({ type: RoleDto })
  @ApiProblems(400, 403, 404, 409)
  async update(
    @Param() params: RoleIdParams,
    @Body() body: UpdateRoleDto,
    @CurrentUser() user: AuthUser,
  ): Promise<RoleDto> {
    return toDto(await this.roles.update(user, params.id, body));
  }

  @Put(':id/permissions')
  @AuditedInService('RoleService, in the transaction of the change')
  @RequirePermission('roles:update')
  @ApiOperation({
    summary: "Replace a role's permissions",
    description:
      'Exact keys or wildcards (`customers:*`, `*:read`, `*:*`); unknown keys are a 400 naming them. Added ' +
      'patterns must be held organization-wide by the caller (403). System roles cannot change (409). Takes ' +
      'effect on the next request of every holder.',
  })
  @ApiOkResponse({ type: RoleDto })
  @ApiProblems(400, 403, 404, 409)
  async setPermissions(
    @Param() params: RoleIdParams,
    @Body() body: SetRolePermissionsDto,
    @CurrentUser() user: AuthUser,
  ): Promise<RoleDto> {
    return toDto(await this.roles.setPermissions(user, params.id, body.permissions));
  }

  @Delete(':id')
  @AuditedInService('RoleService, in the transaction of the change')
  @HttpCode(204)
  @RequirePermission('roles:delete')
  @ApiOperation({
    summary: 'Delete a custom role',
    description:
      'System roles cannot be deleted (409). A role still assigned is a 409 role-in-use unless `force=true`, ' +
      'which also removes its assignments (needs roles:assign at their scopes).',
  })
  @ApiProblems(400, 403, 404, 409)
  async delete(
    @Param() params: RoleIdParams,
    @Query() query: DeleteRoleQueryDto,
    @CurrentUser() user: AuthUser,
  ): Promise<void> {
    await this.roles.delete(user, params.id, query.force ?? false);
  }
}
