import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';

export class PageMetaDto {
  /**
   * Page size used: the requested limit, or the default
   * @example 20
   */
  @ApiProperty({ type: 'integer' })
  limit: number;

  /**
   * Pass as `?cursor=` (with the same filters and sort) to get the next page; null on the last page
   * @example eyJ2IjoxLCJzIjoiY3VzdG9tZXJzIn0.Gq2v3Q9m0dE7yN1rXk4a8w
   */
  nextCursor: string | null;

  /** Whether a next page exists */
  hasMore: boolean;
}

/** The envelope of every list response; each route's `data` items are typed by `@ApiPageResponse(Item)`. */
export class PageDto {
  page: PageMetaDto;
}

/** One page of a list, as a handler returns it. */
export interface Page<T> {
  data: T[];
  page: PageMetaDto;
}

/** The same page with each item converted, e.g. entities to response DTOs. */
export function mapPage<T, R>(page: Page<T>, convert: (item: T) => R): Page<R> {
  return { data: page.data.map(convert), page: page.page };
}

/** Documents a 200 response that is one page of `item`s: `{ data: Item[], page: PageMetaDto }`. */
export function ApiPageResponse(item: Type<unknown>, options: { description?: string } = {}): MethodDecorator {
  return applyDecorators(
    ApiExtraModels(PageDto, PageMetaDto, item),
    ApiResponse({
      status: 200,
      description: options.description ?? `A page of ${item.name}`,
      schema: {
        allOf: [
          { $ref: getSchemaPath(PageDto) },
          {
            type: 'object',
            required: ['data'],
            properties: { data: { type: 'array', items: { $ref: getSchemaPath(item) } } },
          },
        ],
      },
    }),
  );
}
