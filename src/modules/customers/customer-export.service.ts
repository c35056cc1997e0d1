import { Injectable, StreamableFile } from '@nestjs/common';
import { Readable } from 'node:stream';
import { csvLine } from '../../core/csv/csv-writer';
import type { KeysetPageOptions } from '../../core/pagination/keyset';
import type { AuthUser } from '../auth/auth-user';
import { PermissionService, type ReadableDepartments } from '../rbac/decision/permission.service';
import type { ExportCustomersQueryDto } from './customer-export.dto';
import {
  CustomerExportRepository,
  EXPORT_ORDER,
  type CustomerExportFilter,
  type ExportedCustomer,
} from './customer-export.repository';

/** Rows per keyset read: bounds memory per export whatever the number of customers. */
export const CUSTOMER_EXPORT_BATCH_SIZE = 1000;

/** The CSV columns, in order. name..tags are the columns POST /customers/import reads (tags joined by `;`). */
export const CUSTOMER_EXPORT_COLUMNS = [
  'id',
  'name',
  'email',
  'phone',
  'company',
  'status',
  'tags',
  'ownerId',
  'departmentId',
  'createdAt',
  'updatedAt',
] as const satisfies readonly (keyof ExportedCustomer)[];

function csvRow(customer: ExportedCustomer): string {
  return csvLine(
    CUSTOMER_EXPORT_COLUMNS.map((column) => (column === 'tags' ? customer.tags.join(';') : customer[column])),
  );
}

/**
 * Streams the customers the caller may read, filtered, as CSV. Rows are read in keyset batches (each a short
 * query: no connection or transaction is held for the download) and pulled by the response stream, so a slow
 * client slows the reads instead of filling memory. Cells a spreadsheet would run as a formula are neutralised.
 */
@Injectable()
export class CustomerExportService {
  constructor(
    private readonly repository: CustomerExportRepository,
    private readonly permissions: PermissionService,
  ) {}

  async export(caller: AuthUser, query: ExportCustomersQueryDto): Promise<StreamableFile> {
    const scope = await this.permissions.readableDepartments(caller, 'customers:read');
    const filter: CustomerExportFilter = {
      statuses: query.status,
      ownerId: query.ownerId,
      tags: query.tag,
      q: query.q,
    };
    if (query.departmentId) {
      filter.departmentPath = await this.permissions.departmentPath(caller.organizationId, query.departmentId);
    }
    const page: KeysetPageOptions = { ...EXPORT_ORDER, limit: CUSTOMER_EXPORT_BATCH_SIZE };
    // The first batch is read before the response starts, so a failing query is still a problem document.
    const first = await this.repository.batch(caller.organizationId, scope, filter, page);
    const lines = this.lines(caller.organizationId, scope, filter, page, first);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return new StreamableFile(Readable.from(lines, { objectMode: false }), {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="customers-${stamp}.csv"`,
    });
  }

  private async *lines(
    organizationId: string,
    scope: ReadableDepartments,
    filter: CustomerExportFilter,
    page: KeysetPageOptions,
    first: ExportedCustomer[],
  ): AsyncGenerator<string> {
    yield csvLine(CUSTOMER_EXPORT_COLUMNS);
    let batch = first;
    for (;;) {
      // applyKeysetPage fetches limit + 1 rows: all are written, the extra one only says there is more.
      if (batch.length > 0) yield batch.map(csvRow).join('');
      const last = batch.at(-1);
      if (batch.length <= page.limit || !last) return;
      batch = await this.repository.batch(organizationId, scope, filter, {
        ...page,
        after: { value: last.createdAt, id: last.id },
      });
    }
  }
}
