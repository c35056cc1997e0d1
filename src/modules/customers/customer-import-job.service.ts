import { Injectable, Logger } from '@nestjs/common';
import { parseCsv } from '../../core/csv/csv-parser';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { uuidv7 } from '../../core/database/uuidv7';
import { AuditService } from '../audit/audit.service';
import { CustomerImportRepository } from './customer-import.repository';
import {
  dataRecords,
  readHeader,
  validateRow,
  type ImportedCustomer,
  type ImportRecord,
  type ImportRowError,
} from './customer-import.rows';
import { CustomerStatsCache } from './customer-stats.cache';

/** Rows validated and inserted per transaction. */
export const IMPORT_BATCH_SIZE = 500;
/** Row errors kept per import; failedRows still counts every refused row. */
export const MAX_STORED_ERRORS = 1000;

/**
 * Worker side of CSV imports. Rows are validated and inserted in batches, each in one transaction together
 * with the import's counters, so progress is visible while it runs and a retried job resumes after the last
 * committed batch. One audit entry per import records who imported how many rows, when it completes.
 */
@Injectable()
export class CustomerImportJobService {
  private readonly logger = new Logger(CustomerImportJobService.name);

  constructor(
    private readonly repository: CustomerImportRepository,
    private readonly tx: TransactionRunner,
    private readonly audit: AuditService,
    private readonly statsCache: CustomerStatsCache,
  ) {}

  /** `lastAttempt`: a failure now is final, so the import is marked failed before the error propagates. */
  async run(importId: string, lastAttempt: boolean): Promise<void> {
    const current = await this.repository.findForRun(importId);
    // A redelivered job of a finished import changes nothing.
    if (!current || current.status === 'completed' || current.status === 'failed') return;
    try {
      await this.repository.markRunning(importId);
      const records = parseCsv(current.csv);
      const header = readHeader(records[0]);
      if ('errors' in header) throw new Error(`import ${importId} has an invalid header`);
      const rows = dataRecords(records);
      const progress = { processed: current.processedRows, failed: current.failedRows, stored: current.storedErrors };
      // Emails of earlier rows in this run; rows of batches committed by an earlier attempt are in the table.
      const seen = new Map<string, number>();
      for (let start = progress.processed; start < rows.length; start += IMPORT_BATCH_SIZE) {
        await this.importBatch(current, header.columns, rows.slice(start, start + IMPORT_BATCH_SIZE), seen, progress);
      }
      await this.tx.run(async (m) => {
        await this.repository.finish(importId, 'completed', m);
        await this.audit.record(
          {
            organizationId: current.organizationId,
            actorId: current.createdBy,
            action: 'customers.import',
            resourceType: 'customer-imports',
            resourceId: importId,
            outcome: 'success',
            details: {
              departmentId: current.departmentId,
              totalRows: rows.length,
              importedRows: progress.processed - progress.failed,
              failedRows: progress.failed,
            },
          },
          m,
        );
      });
    } catch (error) {
      if (lastAttempt) {
        this.logger.error({ err: error, importId }, 'customer import failed');
        await this.repository.finish(importId, 'failed');
      }
      throw error;
    }
  }

  private async importBatch(
    target: { id: string; organizationId: string; departmentId: string | null },
    columns: Parameters<typeof validateRow>[1],
    batch: ImportRecord[],
    seen: Map<string, number>,
    progress: { processed: number; failed: number; stored: number },
  ): Promise<void> {
    const errors: ImportRowError[] = [];
    const valid: ImportedCustomer[] = [];
    for (const record of batch) {
      const result = validateRow(record, columns);
      if ('errors' in result) {
        errors.push(...result.errors);
        continue;
      }
      const { email } = result.customer;
      const firstRow = email ? seen.get(email) : undefined;
      if (email && firstRow !== undefined) {
        errors.push({ row: record.row, field: 'email', message: `duplicate email in the file (row ${firstRow})` });
        continue;
      }
      if (email) seen.set(email, record.row);
      valid.push(result.customer);
    }
    const taken = await this.repository.existingEmails(
      target.organizationId,
      valid.flatMap((customer) => (customer.email ? [customer.email] : [])),
    );
    const candidates = valid.filter((customer) => {
      if (!customer.email || !taken.has(customer.email)) return true;
      errors.push({ row: customer.row, field: 'email', message: 'a customer with this email already exists' });
      return false;
    });

    await this.tx.run(async (m) => {
      const withIds = candidates.map((customer) => ({ ...customer, id: uuidv7() }));
      const inserted = await this.repository.insertCustomers(target, withIds, m);
      // A copy: a retried transaction starts again from the errors found before it.
      const batchErrors = [...errors];
      // Taken between the check above and the insert: the unique index skipped them.
      for (const customer of withIds) {
        if (!inserted.has(customer.id)) {
          batchErrors.push({ row: customer.row, field: 'email', message: 'a customer with this email already exists' });
        }
      }
      batchErrors.sort((a, b) => a.row - b.row);
      const failed = new Set(batchErrors.map((error) => error.row)).size;
      const kept = batchErrors.slice(0, Math.max(0, MAX_STORED_ERRORS - progress.stored));
      await this.repository.addProgress(target.id, { processed: batch.length, failed, errors: kept }, m);
      if (inserted.size) await this.tx.afterCommit(() => this.statsCache.invalidate(target.organizationId));
      // Counted once committed: a rolled-back batch is redone by the retry.
      await this.tx.afterCommit(() => {
        progress.processed += batch.length;
        progress.failed += failed;
        progress.stored += kept.length;
      });
    });
  }
}
