import { ApiPropertyOptional, ApiQuery } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Min, ValidateBy, type ValidationOptions } from 'class-validator';
import { activePageLimits } from './page-limits';
import { sortParamValues, type ListSpec } from './sort';

/**
 * `limit` must not exceed PAGINATION_MAX_LIMIT. The maximum is configuration, known only at runtime, so it
 * cannot be a @Max() argument; it is read from the limits PaginationModule activates at startup.
 */
export function IsWithinPageLimit(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isWithinPageLimit',
      validator: {
        // Before any PaginationModule starts (unit tests of a DTO) this passes; Paginator.resolve still checks.
        validate: (value: unknown) => {
          const limits = activePageLimits();
          return !limits || typeof value !== 'number' || value <= limits.maxLimit;
        },
        defaultMessage: (args) =>
          activePageLimits()?.tooLargeMessage(args?.property) ?? `${args?.property} is too large`,
      },
    },
    options,
  );
}

/**
 * Query parameters of every list. A list's own query DTO extends it with its filters; the route documents
 * its sort values with `@ApiSortQuery(LIST)`.
 */
export class PageQueryDto {
  /**
   * Page size, at least 1. Defaults to PAGINATION_DEFAULT_LIMIT (20) and may not exceed PAGINATION_MAX_LIMIT
   * (100); a larger value is refused, not clamped.
   * @example 20
   */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @IsWithinPageLimit()
  limit?: number;

  /**
   * `page.nextCursor` of the previous page, as received. Send it with the same filters and sort; a cursor
   * from another list or another sort is refused with 400.
   */
  @IsOptional()
  @IsString()
  cursor?: string;

  /** A field from the list's whitelist: ascending as is, descending with a `-` prefix (e.g. `-createdAt`). */
  @IsOptional()
  @IsString()
  sort?: string;
}

/** Documents a list route's `?sort=` values and default in OpenAPI (replaces PageQueryDto's generic `sort`). */
export function ApiSortQuery(list: ListSpec): MethodDecorator {
  return ApiQuery({
    name: 'sort',
    required: false,
    schema: { type: 'string', enum: sortParamValues(list), default: list.defaultSort },
    description: `Sort field: ascending as is, descending with a \`-\` prefix. Default \`${list.defaultSort}\`.`,
  });
}
