import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../../core/http/api-problems.decorator';
import type { AuthUser } from '../../auth/auth-user';
import { CurrentUser } from '../../auth/auth.decorators';
import { RequirePermission } from '../decision/require-permission.decorator';
import { GrantScopeDto } from '../rbac.dto';
import {
  CreateRoleAssignmentDto,
  EffectivePermissionDto,
  RoleAssignmentDto,
  UserAssignmentParams,
  UserIdParams,
} from './assignment.dto';
import type { AssignmentRow } from './assignment.repository';
import { AssignmentService } from './assignment.service';
import { AuditedInService } from '../../audit/audited.decorator';

function toDto(row: AssignmentRow): RoleAssignmentDto {
  return {
    id: row.id,
    role: { id: row.roleId, name: row.roleName, systemKey: row.roleSystemKey },
    scope: GrantScopeDto.of(row.departmentId),
    createdBy: row.createdBy,
    createdAt: row.createdAt,
  };
}

/** A user's role assignments and effective permissions (the rest of /users/:id belongs to the users module). */
@ApiTags('roles')
@ApiProblems(401)
@Controller('users/:id')
export class AssignmentsController {
  constructor(private readonly assignments: AssignmentService) {}

  @Get('roles')
  @RequirePermission('roles:read')
  @ApiOperation({ summary: "The user's role assignments with their scopes, organization-wide first" })
  @ApiOkResponse({ type: [RoleAssignmentDto] })
  @ApiProblems(400, 404)
  async list(@Param() params: UserIdParams, @CurrentUser() user: AuthUser): Promise<RoleAssignmentDto[]> {
    return (await this.assignments.list(user, params.id)).map(toDto);
  }

  @Post('roles')
  @AuditedInService('AssignmentService, in the transaction of the change')
  @RequirePermission('roles:assign')
  @ApiOperation({
    summary: 'Assign a role to the user, organization-wide or in one department subtree',
    description:
      'You need roles:assign and every permission of the role at a scope covering the target (else 403 ' +
      'privilege-escalation). Users, roles and departments of other organizations are 404. The same role at ' +
      'the same scope twice is a 409.',
  })
  @ApiCreatedResponse({ type: RoleAssignmentDto })
  @ApiProblems(400, 403, 404, 409)
  async assign(
    @Param() params: UserIdParams,
    @Body() body: CreateRoleAssignmentDto,
    @CurrentUser() user: AuthUser,
  ): Promise<RoleAssignmentDto> {
    return toDto(await this.assignments.assign(user, params.id, body));
  }

  @Delete('roles/:assignmentId')
  @AuditedInService('AssignmentService, in the transaction of the change')
  @HttpCode(204)
  @RequirePermission('roles:assign')
  @ApiOperation({
    summary: 'Remove a role assignment',
    description: 'Needs roles:assign at its scope. The last organization-wide owner cannot be removed (409).',
  })
  @ApiProblems(400, 403, 404, 409)
  async unassign(@Param() params: UserAssignmentParams, @CurrentUser() user: AuthUser): Promise<void> {
    await this.assignments.unassign(user, params.id, params.assignmentId);
  }

  @Get('effective-permissions')
  @RequirePermission('roles:read')
  @ApiOperation({ summary: 'Every permission pattern the user holds, with the role and scope granting it' })
  @ApiOkResponse({ type: [EffectivePermissionDto] })
  @ApiProblems(400, 404)
  async effective(@Param() params: UserIdParams, @CurrentUser() user: AuthUser): Promise<EffectivePermissionDto[]> {
    return (await this.assignments.effectiveGrants(user, params.id)).map((grant) => ({
      pattern: grant.pattern,
      role: { id: grant.roleId, name: grant.roleName },
      scope: GrantScopeDto.of(grant.departmentId),
    }));
  }
}
