import { Injectable, StreamableFile } from '@nestjs/common';
import { Readable } from 'node:stream';
import type { KeysetPageOptions } from '../../core/pagination/keyset';
import { parseSort } from '../../core/pagination/sort';
import type { AuthUser } from '../auth/auth-user';
import type { AuditLogEntry } from './audit-log.entity';
import { AUDIT_LOG_LIST, AuditLogRepository, type AuditLogFilter } from './audit-log.repository';
import { csvLine } from '../../core/csv/csv-writer';
import { csvRow, EXPORT_COLUMNS, ndjsonRow } from './audit-export.format';
import type { ExportAuditLogsQueryDto, ExportFormat } from './audit-query.dto';
import { filterOf } from './audit-query.service';

/** Rows per keyset read: bounds memory per export whatever the size of the result. */
export const EXPORT_BATCH_SIZE = 1000;

const CONTENT_TYPE: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

/**
 * Streams an organization's entries as CSV or NDJSON. Rows are read in keyset batches (each a short query,
 * so no connection or transaction is held for the length of the download) and pulled by the response
 * stream, so a slow client slows the reads instead of filling memory.
 */
@Injectable()
export class AuditExportService {
  constructor(private readonly auditLogs: AuditLogRepository) {}

  async export(user: AuthUser, query: ExportAuditLogsQueryDto): Promise<StreamableFile> {
    const format = query.format ?? 'ndjson';
    const filter = filterOf(query);
    const { spec, direction } = parseSort(query.sort, AUDIT_LOG_LIST);
    const page: KeysetPageOptions = {
      sort: spec,
      direction,
      limit: EXPORT_BATCH_SIZE,
      idColumn: AUDIT_LOG_LIST.idColumn,
    };
    // The first batch is read before the response starts, so a failing query is still a problem document.
    const first = await this.auditLogs.listPage(user.organizationId, filter, page);
    const lines = this.lines(user.organizationId, filter, page, first, format);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return new StreamableFile(Readable.from(lines, { objectMode: false }), {
      type: CONTENT_TYPE[format],
      disposition: `attachment; filename="audit-logs-${stamp}.${format}"`,
    });
  }

  private async *lines(
    organizationId: string,
    filter: AuditLogFilter,
    page: KeysetPageOptions,
    first: AuditLogEntry[],
    format: ExportFormat,
  ): AsyncGenerator<string> {
    if (format === 'csv') yield csvLine(EXPORT_COLUMNS);
    const line = format === 'csv' ? csvRow : ndjsonRow;
    let batch = first;
    for (;;) {
      // applyKeysetPage fetches limit + 1 rows: all of them are output, the extra one says there is more.
      if (batch.length > 0) yield batch.map(line).join('');
      const last = batch.at(-1);
      if (batch.length <= page.limit || !last) return;
      batch = await this.auditLogs.listPage(organizationId, filter, {
        ...page,
        after: { value: last.occurredAt, id: last.id },
      });
    }
  }
}
