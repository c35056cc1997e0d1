import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ValidationException } from '../../core/exceptions/app.exception';
import type { Page } from '../../core/pagination/page.dto';
import type { PageRequest } from '../../core/pagination/keyset';
import { Paginator } from '../../core/pagination/paginator';
import type { ReadableDepartments } from '../rbac/decision/permission.service';
import type { ListCustomersQueryDto } from './customer.dto';
import {
  CUSTOMER_SEARCH,
  CustomersRepository,
  type CustomerFilters,
  type RankedCustomer,
  type SearchMode,
} from './customers.repository';

/**
 * GET /customers?q=: whole words (CustomersRepository's `words` mode, cheap on any table size); only when
 * they find nothing at all, the typo-tolerant `similar` mode instead (a trigram scan: 150-800 ms on a
 * million rows, so it must not run for every selective query that happens to fill less than a page). The mode is part of the cursor's scope, so later pages continue the mode page 1
 * chose whatever rows have appeared since.
 */
@Injectable()
export class CustomerSearchService {
  constructor(
    private readonly repository: CustomersRepository,
    private readonly paginator: Paginator,
  ) {}

  async search(
    organizationId: string,
    scope: ReadableDepartments,
    filters: CustomerFilters & { q: string },
    query: ListCustomersQueryDto,
  ): Promise<Page<RankedCustomer>> {
    if (query.sort !== undefined) {
      throw new ValidationException([
        { field: 'sort', message: 'sort cannot be combined with q: search results are ordered by relevance' },
      ]);
    }
    // The cursor is bound to this q: ranks of another search mean nothing here.
    const digest = createHash('sha256').update(filters.q).digest('base64url').slice(0, 12);
    const { mode, request } = this.resolve(query, digest);
    const rows = await this.repository.search(organizationId, scope, filters, mode, request);
    if (mode === 'words' && request.after === undefined && rows.length === 0) {
      const fallback = this.paginator.resolve({ ...query, cursor: undefined }, CUSTOMER_SEARCH.similar, {
        scope: `${CUSTOMER_SEARCH.similar.scope}:${digest}`,
      });
      return this.page(await this.repository.search(organizationId, scope, filters, 'similar', fallback), fallback);
    }
    return this.page(rows, request);
  }

  /** The mode the cursor continues (`words` on the first page); a cursor of neither mode is the usual 400. */
  private resolve(query: ListCustomersQueryDto, digest: string): { mode: SearchMode; request: PageRequest } {
    const resolve = (mode: SearchMode) =>
      this.paginator.resolve(query, CUSTOMER_SEARCH[mode], { scope: `${CUSTOMER_SEARCH[mode].scope}:${digest}` });
    if (query.cursor === undefined) return { mode: 'words', request: resolve('words') };
    try {
      return { mode: 'words', request: resolve('words') };
    } catch (error) {
      // The codec does not say which scope a cursor has; the fallback mode is the rare one, so it pays.
      if (!(error instanceof ValidationException)) throw error;
      return { mode: 'similar', request: resolve('similar') };
    }
  }

  private page(rows: RankedCustomer[], request: PageRequest): Page<RankedCustomer> {
    return this.paginator.page(rows, request, { sortValue: (row) => row.rank });
  }
}
