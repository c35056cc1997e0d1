import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsObject, IsUUID, ValidateIf, ValidateNested } from 'class-validator';
import { GrantScopeDto } from '../rbac.dto';
import { SYSTEM_ROLES, type SystemRoleKey } from '../system-roles';

export class UserIdParams {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  @IsUUID()
  id: string;
}

export class UserAssignmentParams {
  /** The user. @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  @IsUUID()
  id: string;

  /** @example 019ac2f1-0c4e-7d21-8b6a-2e9f4a1c7d35 */
  @IsUUID()
  assignmentId: string;
}

export class AssignmentScopeDto {
  /** `organization`: everywhere; `department`: that department and all its descendants. */
  @ApiProperty({ enum: ['organization', 'department'] })
  @IsIn(['organization', 'department'])
  type: 'organization' | 'department';

  /** Required for (and only for) a department scope. */
  @ValidateIf((scope: AssignmentScopeDto) => scope.type === 'department' || scope.departmentId !== undefined)
  @IsUUID()
  departmentId?: string;
}

export class CreateRoleAssignmentDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  @IsUUID()
  roleId: string;

  /** @example { "type": "department", "departmentId": "019ac2f1-0c4e-7d21-8b6a-2e9f4a1c7d35" } */
  @IsObject()
  @ValidateNested()
  @Type(() => AssignmentScopeDto)
  scope: AssignmentScopeDto;
}

export class AssignedRoleDto {
  id: string;
  /** @example Manager */
  name: string;
  @ApiProperty({ enum: Object.keys(SYSTEM_ROLES), nullable: true, type: String })
  systemKey: SystemRoleKey | null;
}

export class RoleAssignmentDto {
  id: string;
  role: AssignedRoleDto;
  scope: GrantScopeDto;
  /** Who made the assignment (null for the organization's founding owner). */
  @ApiProperty({ type: String, nullable: true })
  createdBy: string | null;
  createdAt: Date;
}

export class EffectivePermissionRoleDto {
  id: string;
  /** @example Manager */
  name: string;
}

export class EffectivePermissionDto {
  /** The pattern held, e.g. customers:* */
  pattern: string;
  role: EffectivePermissionRoleDto;
  scope: GrantScopeDto;
}
