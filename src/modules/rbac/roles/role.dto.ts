import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { trim } from '../../../core/http/transforms';
import { SYSTEM_ROLES, type SystemRoleKey } from '../system-roles';
import type { Role } from './role.entity';

export class RoleDto {
  id: string;
  /** @example Support lead */
  name: string;
  /** @example Handles escalated customer tickets */
  description: string;
  /** Set for the seeded system roles, which cannot be renamed, deleted or given other permissions. */
  @ApiProperty({ enum: Object.keys(SYSTEM_ROLES), nullable: true, type: String })
  systemKey: SystemRoleKey | null;
  /**
   * Permission patterns: exact keys or wildcards, sorted
   * @example ["customers:*", "posts:read"]
   */
  permissions: string[];
  createdAt: Date;
  updatedAt: Date;

  static from(role: Role, permissions: string[]): RoleDto {
    const { id, name, description, systemKey, createdAt, updatedAt } = role;
    return Object.assign(new RoleDto(), { id, name, description, systemKey, permissions, createdAt, updatedAt });
  }
}

export class RoleIdParams {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  @IsUUID()
  id: string;
}

export class CreateRoleDto {
  /** Unique in the organization, case-insensitively. @example Support lead */
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name: string;

  /** @example Handles escalated customer tickets */
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(1000)
  description?: string;

  /**
   * Exact keys (`customers:read`) or wildcards (`customers:*`, `*:read`, `*:*`); you must hold each
   * organization-wide
   * @example ["customers:*", "posts:read"]
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  permissions?: string[];
}

export class UpdateRoleDto {
  /** System roles cannot be renamed. @example Support lead */
  // Optional but not nullable: IsOptional would let null through to a NOT NULL column (a 500).
  @ValidateIf((_, value) => value !== undefined)
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name?: string;

  /** @example Handles escalated customer tickets */
  @ValidateIf((_, value) => value !== undefined)
  @Transform(trim)
  @IsString()
  @MaxLength(1000)
  description?: string;
}

export class SetRolePermissionsDto {
  /**
   * The role's complete new set of permission patterns (replaces the old set)
   * @example ["customers:*", "posts:read"]
   */
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  permissions: string[];
}

export class DeleteRoleQueryDto {
  /** Also remove the role's assignments (otherwise a role still assigned is a 409 role-in-use). */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  force?: boolean;
}
