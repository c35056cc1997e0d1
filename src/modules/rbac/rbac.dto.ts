import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Matches } from 'class-validator';

export class PermissionDto {
  /** @example customers:update */
  key: string;
  /** @example customers */
  service: string;
  /** @example update */
  action: string;
  description: string;
}

export class RbacCheckQueryDto {
  /** The user whose permission is explained (same organization). */
  @IsUUID()
  userId: string;

  /** @example customers:update */
  @IsString()
  @Matches(/^[a-z]+:[a-z]+$/, { message: 'permission must look like service:action' })
  permission: string;

  /** The department of the resource; omit for organization-level resources. */
  @IsOptional()
  @IsUUID()
  departmentId?: string;
}

export class GrantScopeDto {
  @ApiProperty({ enum: ['organization', 'department'] })
  type: 'organization' | 'department';
  departmentId?: string;

  /** The scope of a grant or assignment: its department's subtree, or the organization when it has none. */
  static of(departmentId: string | null): GrantScopeDto {
    return departmentId ? { type: 'department', departmentId } : { type: 'organization' };
  }
}

export class GrantedByDto {
  role: { id: string; name: string };
  scope: GrantScopeDto;
  /** The pattern that matched, e.g. customers:* */
  pattern: string;
}

export class RbacCheckResponseDto {
  allowed: boolean;
  @ApiProperty({ type: GrantedByDto, nullable: true })
  grantedBy: GrantedByDto | null;
}
