import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AppConfig } from '../../config/app.config';
import { CsvSyntaxError, parseCsv } from '../../core/csv/csv-parser';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { uuidv7 } from '../../core/database/uuidv7';
import { ValidationException } from '../../core/exceptions/app.exception';
import { JobOutbox } from '../../core/queue/job-outbox';
import { QueueName } from '../../core/queue/queue-names';
import { AuditService } from '../audit/audit.service';
import type { AuthUser } from '../auth/auth-user';
import { PermissionService } from '../rbac/decision/permission.service';
import { RbacException, RbacExceptionCode } from '../rbac/rbac.exception';
import { CustomerImportDto } from './customer-import.dto';
import { CustomerImportException, CustomerImportExceptionCode } from './customer-import.exception';
import type { CustomersJobs } from './customer-import.jobs';
import { CustomerImportRepository } from './customer-import.repository';
import { dataRecords, readHeader } from './customer-import.rows';

/**
 * API side of CSV imports: checks the file (size, CSV syntax, header), stores it `queued` and queues the
 * `import` job once that is committed; the worker validates and inserts the rows (CustomerImportJobService).
 */
@Injectable()
export class CustomerImportService {
  constructor(
    private readonly repository: CustomerImportRepository,
    private readonly permissions: PermissionService,
    private readonly audit: AuditService,
    private readonly tx: TransactionRunner,
    private readonly config: AppConfig,
    @InjectQueue(QueueName.Customers) private readonly queue: Queue,
    private readonly outbox: JobOutbox,
  ) {}

  /** `csv` is the request body: a string only when it was sent as text/csv. */
  async start(caller: AuthUser, csv: unknown, departmentId?: string): Promise<CustomerImportDto> {
    if (typeof csv !== 'string') {
      throw new CustomerImportException(
        CustomerImportExceptionCode.NotCsv,
        'Send the file as the request body with Content-Type: text/csv.',
      );
    }
    // Fastify's text/csv parser enforces the same limit; this holds for any other way the body gets here.
    if (Buffer.byteLength(csv) > this.config.customers.importMaxBytes) {
      throw new CustomerImportException(
        CustomerImportExceptionCode.TooLarge,
        `The file is larger than ${this.config.customers.importMaxBytes} bytes.`,
      );
    }
    if (departmentId && !(await this.repository.departmentExists(caller.organizationId, departmentId))) {
      throw new RbacException(RbacExceptionCode.NotFound, 'No such department.');
    }
    // A create: nothing exists yet to hide, so a caller without the grant there learns why (403, not 404).
    if (!(await this.permissions.decide(caller, 'customers:create', departmentId ?? null)).allowed) {
      await this.audit.recordDenied(caller, 'customers:create', { departmentId: departmentId ?? null });
      const where = departmentId ? 'in that department' : 'organization-wide';
      throw new RbacException(
        RbacExceptionCode.PermissionDenied,
        `This needs the permission customers:create ${where}.`,
        {
          permission: 'customers:create',
        },
      );
    }
    const totalRows = countRows(csv);
    const created = await this.tx.run(async (m) => {
      const row = await this.repository.insert(
        {
          id: uuidv7(),
          organizationId: caller.organizationId,
          createdBy: caller.id,
          departmentId: departmentId ?? null,
          totalRows,
          csv,
        },
        m,
      );
      const payload: CustomersJobs['import'] = { importId: row.id };
      // jobId = import id: a retried enqueue can never start a second run of the same import.
      await this.outbox.enqueue(this.queue, 'import', payload, { jobId: row.id });
      return row;
    });
    return CustomerImportDto.from(created);
  }

  /** Progress of an import; needs customers:read on its department, like the customers it creates. */
  async get(caller: AuthUser, id: string): Promise<CustomerImportDto> {
    const row = await this.repository.find(caller.organizationId, id);
    if (!row) throw new CustomerImportException(CustomerImportExceptionCode.ImportNotFound, `No import ${id}.`);
    await this.permissions.assertAllowed(caller, 'customers:read', row.departmentId);
    return CustomerImportDto.from(row);
  }
}

/** Data rows of a well-formed file with a valid header; otherwise a ValidationException naming `csv` or `header`. */
function countRows(csv: string): number {
  let records: string[][];
  try {
    records = parseCsv(csv);
  } catch (error) {
    if (!(error instanceof CsvSyntaxError)) throw error;
    throw new ValidationException([{ field: 'csv', message: `row ${error.row}: ${error.message}` }]);
  }
  const header = readHeader(records[0]);
  if ('errors' in header) throw new ValidationException(header.errors);
  const rows = dataRecords(records).length;
  if (rows === 0) throw new ValidationException([{ field: 'csv', message: 'the file has no data rows' }]);
  return rows;
}
