import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsEmail,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { commaList, normalizeEmail, trim } from '../../core/http/transforms';
import { PageQueryDto } from '../../core/pagination/page-query.dto';
import type { User, UserStatus } from './user.entity';

export const USER_STATUSES: readonly UserStatus[] = ['invited', 'active', 'disabled'];

/** A user as administrators see it: never a password hash, TOTP secret or lockout internals. */
export class UserDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  id: string;
  /** @example ada@acme.example */
  email: string;
  /** @example Ada Lovelace */
  name: string;
  /** invited: has not set a password yet; disabled: cannot log in, sessions revoked. */
  @ApiProperty({ enum: USER_STATUSES })
  status: UserStatus;
  /** The user's department; null for an organization-level user. */
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  departmentId: string | null;
  emailVerified: boolean;
  twoFactorEnabled: boolean;
  /** Increases with every change; send it back as `If-Match` (the ETag) to update safely. */
  @ApiProperty({ type: 'integer' })
  version: number;
  createdAt: Date;
  updatedAt: Date;

  static from(user: User): UserDto {
    return Object.assign(new UserDto(), {
      id: user.id,
      email: user.email,
      name: user.name,
      status: user.status,
      departmentId: user.departmentId,
      emailVerified: user.emailVerifiedAt !== null,
      twoFactorEnabled: user.totpEnabledAt !== null,
      version: user.version,
      createdAt: user.createdAt,
      updatedAt: user.updatedAt,
    });
  }
}

export class ListUsersQueryDto extends PageQueryDto {
  /** Only users with one of these statuses; repeat the parameter or separate with commas. */
  @ApiPropertyOptional({
    enum: USER_STATUSES,
    isArray: true,
    example: ['active', 'invited'],
    description: 'Only users with one of these statuses; repeat the parameter or separate with commas.',
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(USER_STATUSES.length)
  @IsIn(USER_STATUSES, { each: true })
  status?: UserStatus[];

  /** Only users in this department or any department below it. */
  @IsOptional()
  @IsUUID()
  departmentId?: string;

  /** Only users holding an assignment of this role (at any scope). */
  @IsOptional()
  @IsUUID()
  roleId?: string;

  /**
   * Case-insensitive substring of the name or email; `%` and `_` match themselves.
   * @example ada
   */
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  q?: string;
}

export class CreateUserDto {
  /** @example grace@acme.example */
  @Transform(normalizeEmail)
  @IsEmail()
  @MaxLength(254)
  email: string;

  /** @example Grace Hopper */
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name: string;

  /** The department the user joins; omit for an organization-level user (needs users:create organization-wide). */
  @IsOptional()
  @IsUUID()
  departmentId?: string;
}

export class UpdateUserDto {
  /** @example Grace Brewster Hopper */
  // Optional but not nullable: IsOptional would let null through to a NOT NULL column (a 500).
  @ValidateIf((_, value) => value !== undefined)
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name?: string;

  /**
   * Move the user to this department, or to organization level with null. Needs users:update on both the
   * current and the new department.
   */
  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  departmentId?: string | null;
}

export class UserIdParams {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  @IsUUID()
  id: string;
}
