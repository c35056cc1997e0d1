import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import type { Grant } from './decision/grant';
import { PermissionService } from './decision/permission.service';
import { RequirePermission } from './decision/require-permission.decorator';
import { PermissionCatalog } from './permission-catalog.service';
import { GrantScopeDto, PermissionDto, RbacCheckQueryDto, RbacCheckResponseDto, type GrantedByDto } from './rbac.dto';
import { RbacException, RbacExceptionCode } from './rbac.exception';
import { DataSource } from 'typeorm';

export function grantedBy(grant: Grant | null): GrantedByDto | null {
  if (!grant) return null;
  return {
    role: { id: grant.roleId, name: grant.roleName },
    scope: GrantScopeDto.of(grant.departmentId),
    pattern: grant.pattern,
  };
}

@ApiTags('rbac')
@Controller()
export class RbacController {
  constructor(
    private readonly catalog: PermissionCatalog,
    private readonly permissions: PermissionService,
    private readonly dataSource: DataSource,
  ) {}

  @Get('permissions')
  @RequirePermission('roles:read')
  @ApiOperation({ summary: 'Every permission the API declares (service:action), with what it allows' })
  @ApiOkResponse({ type: [PermissionDto] })
  @ApiProblems(401)
  list(): PermissionDto[] {
    return this.catalog.list();
  }

  @Get('rbac/check')
  @RequirePermission('roles:read')
  @ApiOperation({
    summary: 'Explain a decision: may this user do this, here, and which grant allows it',
    description: 'Omit departmentId for organization-level resources. A user of another organization is a 404.',
  })
  @ApiOkResponse({ type: RbacCheckResponseDto })
  @ApiProblems(400, 401, 404)
  async check(@Query() query: RbacCheckQueryDto, @CurrentUser() caller: AuthUser): Promise<RbacCheckResponseDto> {
    const [target] = await this.dataSource.query<{ id: string }[]>(
      'SELECT id FROM users WHERE id = $1 AND organization_id = $2',
      [query.userId, caller.organizationId],
    );
    if (!target) throw new RbacException(RbacExceptionCode.NotFound, 'No such user.');
    if (query.departmentId) {
      const [department] = await this.dataSource.query<{ id: string }[]>(
        'SELECT id FROM departments WHERE id = $1 AND organization_id = $2',
        [query.departmentId, caller.organizationId],
      );
      if (!department) throw new RbacException(RbacExceptionCode.NotFound, 'No such department.');
    }
    const decision = await this.permissions.decide(
      { id: query.userId, organizationId: caller.organizationId },
      query.permission,
      query.departmentId ?? null,
    );
    return { allowed: decision.allowed, grantedBy: grantedBy(decision.grantedBy) };
  }
}
