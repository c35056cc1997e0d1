import { Transform } from 'class-transformer';
import { IsBoolean, IsString, Length, ValidateIf } from 'class-validator';
import { trim } from '../../core/http/transforms';
import type { Organization } from './organization.entity';

export class OrganizationDto {
  id: string;
  name: string;
  slug: string;
  /** Members must use two-factor authentication. */
  requireTwoFactor: boolean;
  createdAt: Date;

  static from(organization: Organization): OrganizationDto {
    const { id, name, slug, requireTwoFactor, createdAt } = organization;
    return Object.assign(new OrganizationDto(), { id, name, slug, requireTwoFactor, createdAt });
  }
}

export class UpdateOrganizationDto {
  /** @example Acme Corporation */
  // Optional but not nullable: IsOptional would let null through to a NOT NULL column (a 500).
  @ValidateIf((_, value) => value !== undefined)
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name?: string;

  /** Require 2FA of every member: members without it are sent to setup after their next password login. */
  @ValidateIf((_, value) => value !== undefined)
  @IsBoolean()
  requireTwoFactor?: boolean;
}
