import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsEmail,
  IsIn,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  MaxLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { commaList, normalizeEmail, trim } from '../../core/http/transforms';
import { PageQueryDto } from '../../core/pagination/page-query.dto';
import { CUSTOMER_STATUSES, type Customer, type CustomerStatus } from './customer.entity';

export const TAG_MODES = ['any', 'all'] as const;
export type TagMode = (typeof TAG_MODES)[number];

const MAX_TAGS = 50;
const MAX_CUSTOM_FIELDS_BYTES = 16_384;
const TAG_PATTERN = /^[^,\s][^,]*$/;

// Tags are trimmed and de-duplicated; anything else is left for the validators to refuse.
const tagList = ({ value }: { value: unknown }): unknown =>
  Array.isArray(value)
    ? [...new Set(value.map((item: unknown) => (typeof item === 'string' ? item.trim() : item)))]
    : value;

// An empty string clears an optional text field, like null.
const trimOrNull = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() || null : value;
const emailOrNull = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? normalizeEmail({ value }) || null : value;

/** Optional, but not nullable: only an absent property skips the validators (IsOptional also lets null through). */
const IsPresent = (): PropertyDecorator => ValidateIf((_, value) => value !== undefined);

/** A JSON object whose serialization stays within `bytes` (custom fields are stored inline in the row). */
function IsSmallJsonObject(bytes: number): PropertyDecorator {
  return ValidateBy({
    name: 'isSmallJsonObject',
    validator: {
      validate: (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? {})) <= bytes,
      defaultMessage: (args) => `${args?.property} must not exceed ${bytes} bytes as JSON`,
    },
  });
}

/** A customer as the API shows it. */
export class CustomerDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  id: string;
  /** @example Ada Lovelace */
  name: string;
  /** Unique within the organization among customers that are not deleted. */
  @ApiProperty({ type: String, nullable: true, example: 'ada@analytical.example' })
  email: string | null;
  @ApiProperty({ type: String, nullable: true, example: '+44 20 7946 0018' })
  phone: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Analytical Engines Ltd' })
  company: string | null;
  @ApiProperty({ enum: CUSTOMER_STATUSES })
  status: CustomerStatus;
  /** @example ["vip", "newsletter"] */
  tags: string[];
  /** The user responsible for the customer, if any. */
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  ownerId: string | null;
  /** The customer's department; null for an organization-level customer (visible only with organization-wide grants). */
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  departmentId: string | null;
  /** Free-form JSON object. */
  @ApiProperty({ type: 'object', additionalProperties: true, example: { source: 'fair-2026' } })
  customFields: Record<string, unknown>;
  /** Increases with every change; send it back as `If-Match` (the ETag) to update safely. */
  @ApiProperty({ type: 'integer' })
  version: number;
  createdAt: Date;
  updatedAt: Date;

  /** From an entity or a raw row of a list page (extra properties, such as a search rank, are left out). */
  static from(customer: Omit<Customer, 'organizationId' | 'deletedAt'>): CustomerDto {
    return Object.assign(new CustomerDto(), {
      id: customer.id,
      name: customer.name,
      email: customer.email,
      phone: customer.phone,
      company: customer.company,
      status: customer.status,
      tags: customer.tags,
      ownerId: customer.ownerId,
      departmentId: customer.departmentId,
      customFields: customer.customFields,
      version: customer.version,
      createdAt: customer.createdAt,
      updatedAt: customer.updatedAt,
    });
  }
}

/** The filters GET /customers and GET /customers/export share; they combine with AND. */
export class CustomerFiltersDto {
  /** Only customers with one of these statuses; repeat the parameter or separate with commas. */
  @ApiPropertyOptional({
    enum: CUSTOMER_STATUSES,
    isArray: true,
    example: ['lead', 'prospect'],
    description: 'Only customers with one of these statuses; repeat the parameter or separate with commas.',
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(CUSTOMER_STATUSES.length)
  @IsIn(CUSTOMER_STATUSES, { each: true })
  status?: CustomerStatus[];

  /** Only customers owned by this user. */
  @IsOptional()
  @IsUUID()
  ownerId?: string;

  /** Only customers in this department or any department below it (never widens the caller's read scope). */
  @IsOptional()
  @IsUUID()
  departmentId?: string;
}

export class ListCustomersQueryDto extends IntersectionType(PageQueryDto, CustomerFiltersDto) {
  /** Only customers carrying these tags (see `tagMode`); repeat the parameter or separate with commas. */
  @ApiPropertyOptional({
    type: [String],
    example: ['vip'],
    description: 'Only customers carrying these tags (see tagMode); repeat the parameter or separate with commas.',
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @IsString({ each: true })
  @Length(1, 50, { each: true })
  tag?: string[];

  /** `any`: at least one of the tags (default); `all`: every one of them. */
  @ApiPropertyOptional({ enum: TAG_MODES, default: 'any' })
  @IsOptional()
  @IsIn(TAG_MODES)
  tagMode?: TagMode;

  /**
   * Created at or after this instant (inclusive), ISO 8601.
   * @example 2026-01-01T00:00:00Z
   */
  @IsOptional()
  @IsISO8601({ strict: true })
  createdFrom?: string;

  /**
   * Created before this instant (exclusive), ISO 8601.
   * @example 2026-02-01T00:00:00Z
   */
  @IsOptional()
  @IsISO8601({ strict: true })
  createdTo?: string;

  /**
   * Search over name, email, company and phone. Customers containing every word of `q` come first (whole
   * words, any case; operators and quotes are plain text), ranked by relevance, an equal name first. Only
   * when there are none does the answer hold customers merely similar to `q` (typos, partial words). `sort` cannot be combined with `q`. The cursor continues
   * the ranking and the mode page 1 chose; it is bound to this `q`.
   * @example lovelace
   */
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  q?: string;
}

export class CreateCustomerDto {
  /** @example Ada Lovelace */
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name: string;

  /** Unique within the organization among customers that are not deleted; compared case-insensitively. */
  @ApiPropertyOptional({ type: String, nullable: true, example: 'ada@analytical.example' })
  @IsOptional()
  @Transform(emailOrNull)
  @IsEmail()
  @MaxLength(254)
  email?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: '+44 20 7946 0018' })
  @IsOptional()
  @Transform(trimOrNull)
  @IsString()
  @MaxLength(50)
  phone?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'Analytical Engines Ltd' })
  @IsOptional()
  @Transform(trimOrNull)
  @IsString()
  @MaxLength(200)
  company?: string | null;

  /** `lead` when omitted. */
  @ApiPropertyOptional({ enum: CUSTOMER_STATUSES, default: 'lead' })
  @IsPresent()
  @IsIn(CUSTOMER_STATUSES)
  status?: CustomerStatus;

  /** Up to 50 tags of 1–50 characters, without commas; duplicates are dropped. */
  @ApiPropertyOptional({ type: [String], example: ['vip'] })
  @IsPresent()
  @Transform(tagList)
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @IsString({ each: true })
  @Length(1, 50, { each: true })
  @Matches(TAG_PATTERN, { each: true, message: 'each value in tags must not contain commas' })
  tags?: string[];

  /** A user of the organization. */
  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  ownerId?: string | null;

  /** The customer's department; omit for an organization-level customer (needs customers:create organization-wide). */
  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  departmentId?: string | null;

  /** Any JSON object up to 16 KiB. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { source: 'fair-2026' } })
  @IsPresent()
  @IsObject()
  @IsSmallJsonObject(MAX_CUSTOM_FIELDS_BYTES)
  customFields?: Record<string, unknown>;
}

/** Every field optional; null clears email, phone, company, owner, and moves to organization level for departmentId. */
export class UpdateCustomerDto {
  /** @example Ada King, Countess of Lovelace */
  @IsPresent()
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @Transform(emailOrNull)
  @IsEmail()
  @MaxLength(254)
  email?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @Transform(trimOrNull)
  @IsString()
  @MaxLength(50)
  phone?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @Transform(trimOrNull)
  @IsString()
  @MaxLength(200)
  company?: string | null;

  @ApiPropertyOptional({ enum: CUSTOMER_STATUSES })
  @IsPresent()
  @IsIn(CUSTOMER_STATUSES)
  status?: CustomerStatus;

  /** Replaces the whole tag list. */
  @ApiPropertyOptional({ type: [String] })
  @IsPresent()
  @Transform(tagList)
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @IsString({ each: true })
  @Length(1, 50, { each: true })
  @Matches(TAG_PATTERN, { each: true, message: 'each value in tags must not contain commas' })
  tags?: string[];

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  ownerId?: string | null;

  /** Move the customer; needs customers:update on the current and on the new department. */
  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  departmentId?: string | null;

  /** Replaces the whole object. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsPresent()
  @IsObject()
  @IsSmallJsonObject(MAX_CUSTOM_FIELDS_BYTES)
  customFields?: Record<string, unknown>;
}

export class CustomerIdParams {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  @IsUUID()
  id: string;
}
