import { ApiProperty, ApiPropertyOptional, IntersectionType, PickType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { commaList, trim } from '../../core/http/transforms';
import { PageQueryDto } from '../../core/pagination/page-query.dto';
import { POST_STATUSES, type Post, type PostStatus } from './post.entity';

const MAX_TAGS = 50;
const MAX_BODY = 200_000;
const TAG_PATTERN = /^[^,\s][^,]*$/;
/** What the posts.slug CHECK constraint accepts. */
export const SLUG_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const SLUG_MAX_LENGTH = 200;

const tagList = ({ value }: { value: unknown }): unknown =>
  Array.isArray(value)
    ? [...new Set(value.map((item: unknown) => (typeof item === 'string' ? item.trim() : item)))]
    : value;

const trimOrNull = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() || null : value;

/** Optional, but not nullable: only an absent property skips the validators. */
const IsPresent = (): PropertyDecorator => ValidateIf((_, value) => value !== undefined);

/** A post as the API shows it to members of its organization. */
export class PostDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  id: string;
  /** @example Spring release notes */
  title: string;
  /** Unique within the organization among posts that are not deleted. @example spring-release-notes */
  slug: string;
  /** @example We shipped… */
  body: string;
  @ApiProperty({ type: String, nullable: true, example: 'What is new this spring' })
  excerpt: string | null;
  @ApiProperty({ enum: POST_STATUSES })
  status: PostStatus;
  /** When a scheduled post is (or was) due to be published. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  publishAt: Date | null;
  /** When the post was last published. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  publishedAt: Date | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  authorId: string | null;
  /** Null for an organization-level post (visible only with organization-wide grants). */
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  departmentId: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  coverMediaId: string | null;
  /** @example ["release", "product"] */
  tags: string[];
  /** Increases with every change; send it back as `If-Match` (the ETag) to update safely. */
  @ApiProperty({ type: 'integer' })
  version: number;
  createdAt: Date;
  updatedAt: Date;

  static from(post: Post): PostDto {
    return Object.assign(new PostDto(), {
      id: post.id,
      title: post.title,
      slug: post.slug,
      body: post.body,
      excerpt: post.excerpt,
      status: post.status,
      publishAt: post.publishAt,
      publishedAt: post.publishedAt,
      authorId: post.authorId,
      departmentId: post.departmentId,
      coverMediaId: post.coverMediaId,
      tags: post.tags,
      version: post.version,
      createdAt: post.createdAt,
      updatedAt: post.updatedAt,
    });
  }
}

/** A published post in a public list (without its body). */
export class PublicPostSummaryDto {
  id: string;
  title: string;
  slug: string;
  @ApiProperty({ type: String, nullable: true })
  excerpt: string | null;
  @ApiProperty({ type: String, format: 'date-time' })
  publishedAt: Date;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  coverMediaId: string | null;
  tags: string[];

  static from(post: Post): PublicPostSummaryDto {
    return Object.assign(new PublicPostSummaryDto(), {
      id: post.id,
      title: post.title,
      slug: post.slug,
      excerpt: post.excerpt,
      publishedAt: post.publishedAt,
      coverMediaId: post.coverMediaId,
      tags: post.tags,
    });
  }
}

/** A published post, as anyone may read it. */
export class PublicPostDto extends PublicPostSummaryDto {
  body: string;

  static override from(post: Post): PublicPostDto {
    return Object.assign(new PublicPostDto(), PublicPostSummaryDto.from(post), { body: post.body });
  }
}

export class ListPostsQueryDto extends PageQueryDto {
  /** Only posts with one of these statuses; repeat the parameter or separate with commas. */
  @ApiPropertyOptional({ enum: POST_STATUSES, isArray: true, example: ['draft', 'scheduled'] })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(POST_STATUSES.length)
  @IsIn(POST_STATUSES, { each: true })
  status?: PostStatus[];

  /** Only posts written by this user. */
  @IsOptional()
  @IsUUID()
  authorId?: string;

  /** Only posts in this department or any department below it (never widens the caller's read scope). */
  @IsOptional()
  @IsUUID()
  departmentId?: string;

  /** Only posts carrying at least one of these tags; repeat the parameter or separate with commas. */
  @ApiPropertyOptional({ type: [String], example: ['release'] })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @IsString({ each: true })
  @Length(1, 50, { each: true })
  tag?: string[];

  /** Case-insensitive substring of the title or the excerpt (`%` and `_` match literally). @example release */
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  q?: string;

  /** Published at or after this instant (inclusive), ISO 8601. @example 2026-01-01T00:00:00Z */
  @IsOptional()
  @IsISO8601({ strict: true })
  publishedFrom?: string;

  /** Published before this instant (exclusive), ISO 8601. @example 2026-02-01T00:00:00Z */
  @IsOptional()
  @IsISO8601({ strict: true })
  publishedTo?: string;
}

export class CreatePostDto {
  /** @example Spring release notes */
  @Transform(trim)
  @IsString()
  @Length(1, 300)
  title: string;

  /**
   * Lower-case letters, digits and single dashes; unique within the organization (409 naming `slug`).
   * Omitted: derived from the title (with a numeric suffix when that one is taken).
   * @example spring-release-notes
   */
  @IsPresent()
  @IsString()
  @MaxLength(SLUG_MAX_LENGTH)
  @Matches(SLUG_PATTERN, { message: 'slug must be lower-case letters and digits separated by single dashes' })
  slug?: string;

  /** The content (Markdown or HTML, stored as given). Empty when omitted. */
  @IsPresent()
  @IsString()
  @MaxLength(MAX_BODY)
  body?: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'What is new this spring' })
  @IsOptional()
  @Transform(trimOrNull)
  @IsString()
  @MaxLength(1000)
  excerpt?: string | null;

  /** Up to 50 tags of 1–50 characters, without commas; duplicates are dropped. */
  @ApiPropertyOptional({ type: [String], example: ['release'] })
  @IsPresent()
  @Transform(tagList)
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @IsString({ each: true })
  @Length(1, 50, { each: true })
  @Matches(TAG_PATTERN, { each: true, message: 'each value in tags must not contain commas' })
  tags?: string[];

  /** The post's department; omit for an organization-level post (needs posts:create organization-wide). */
  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  departmentId?: string | null;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  coverMediaId?: string | null;
}

/**
 * Every field optional; the status changes only through the lifecycle routes. A new slug frees the old one
 * (in the same transaction).
 */
export class UpdatePostDto {
  @IsPresent()
  @Transform(trim)
  @IsString()
  @Length(1, 300)
  title?: string;

  @IsPresent()
  @IsString()
  @MaxLength(SLUG_MAX_LENGTH)
  @Matches(SLUG_PATTERN, { message: 'slug must be lower-case letters and digits separated by single dashes' })
  slug?: string;

  @IsPresent()
  @IsString()
  @MaxLength(MAX_BODY)
  body?: string;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @Transform(trimOrNull)
  @IsString()
  @MaxLength(1000)
  excerpt?: string | null;

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

  /** Move the post; needs posts:update on the current and on the new department. */
  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  departmentId?: string | null;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  coverMediaId?: string | null;
}

export class SchedulePostDto {
  /** When to publish; must lie in the future (400 naming `publishAt`). @example 2026-12-01T09:00:00Z */
  @IsISO8601({ strict: true })
  publishAt: string;
}

export class PostIdParams {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  @IsUUID()
  id: string;
}

export class PostSlugParams {
  /** @example spring-release-notes */
  @IsString()
  @Length(1, SLUG_MAX_LENGTH)
  slug: string;
}

export class PublicPostsParams {
  /** The organization's slug. @example acme */
  @IsString()
  @Length(1, 200)
  orgSlug: string;
}

export class PublicPostParams extends IntersectionType(PublicPostsParams, PostSlugParams) {}

/** Newest first (by publication); only `limit` and `cursor`. */
export class PublicPostsQueryDto extends PickType(PageQueryDto, ['limit', 'cursor'] as const) {}
