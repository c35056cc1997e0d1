import { Injectable } from '@nestjs/common';
import { ValidationException } from '../exceptions/app.exception';
import { CursorCodec } from './cursor.codec';
import { toPage, type PageRequest, type RowKey } from './keyset';
import type { Page } from './page.dto';
import { PageLimits } from './page-limits';
import type { PageQueryDto } from './page-query.dto';
import { parseSort, type ListSpec } from './sort';

/**
 * The two steps a list endpoint takes around its query: `resolve` the request's page parameters against
 * the list's whitelist (default limit, sort, decoded cursor), then turn the fetched rows into a `page`.
 */
@Injectable()
export class Paginator {
  constructor(
    private readonly codec: CursorCodec,
    private readonly limits: PageLimits,
  ) {}

  /**
   * Throws ValidationException (400) on `limit`, `sort` or `cursor`. `scope` narrows the list's cursor
   * scope when one list exists per parent (e.g. `notes:${customerId}`), so cursors do not cross parents.
   */
  resolve(query: PageQueryDto, list: ListSpec, options: { scope?: string } = {}): PageRequest {
    const limit = this.limitOf(query.limit);
    const { spec, direction } = parseSort(query.sort, list);
    const scope = options.scope ?? list.scope;
    const after =
      query.cursor === undefined
        ? undefined
        : this.codec.decode(query.cursor, { scope, field: spec.field, direction, type: spec.type });
    return { scope, sort: spec, direction, after, limit, idColumn: list.idColumn };
  }

  /** Rows fetched with `applyKeysetPage(qb, request)` as a page whose nextCursor continues after them. */
  page<T>(rows: readonly T[], request: PageRequest, key?: RowKey<T>): Page<T> {
    return toPage(rows, request, this.codec, key);
  }

  private limitOf(requested: number | undefined): number {
    if (requested === undefined) return this.limits.defaultLimit;
    // Repeats the DTO's checks: callers may build queries without the validation pipe.
    if (!Number.isInteger(requested) || requested < 1) {
      throw new ValidationException([{ field: 'limit', message: 'limit must be an integer not less than 1' }]);
    }
    if (requested > this.limits.maxLimit) {
      throw new ValidationException([{ field: 'limit', message: this.limits.tooLargeMessage() }]);
    }
    return requested;
  }
}
