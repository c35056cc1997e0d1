import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { CustomerImport } from './customer-import.dto';
import type { ImportedCustomer, ImportRowError } from './customer-import.rows';

const IMPORT_COLUMNS = `id, organization_id AS "organizationId", created_by AS "createdBy", department_id AS "departmentId",
  status, total_rows AS "totalRows", processed_rows AS "processedRows", failed_rows AS "failedRows", errors,
  created_at AS "createdAt", finished_at AS "finishedAt"`;

/** Queries of CSV imports: the import rows, their progress, and the batch insert of customers. */
@Injectable()
export class CustomerImportRepository {
  constructor(private readonly dataSource: DataSource) {}

  private db(manager?: EntityManager): EntityManager {
    return manager ?? this.dataSource.manager;
  }

  async insert(
    row: Pick<CustomerImport, 'id' | 'organizationId' | 'createdBy' | 'departmentId' | 'totalRows'> & { csv: string },
    manager: EntityManager,
  ): Promise<CustomerImport> {
    const [created] = await manager.query<CustomerImport[]>(
      `INSERT INTO customer_imports (id, organization_id, created_by, department_id, status, total_rows, csv)
       VALUES ($1, $2, $3, $4, 'queued', $5, $6) RETURNING ${IMPORT_COLUMNS}`,
      [row.id, row.organizationId, row.createdBy, row.departmentId, row.totalRows, row.csv],
    );
    return created;
  }

  async find(organizationId: string, id: string): Promise<CustomerImport | null> {
    const rows = await this.dataSource.query<CustomerImport[]>(
      `SELECT ${IMPORT_COLUMNS} FROM customer_imports WHERE id = $1 AND organization_id = $2`,
      [id, organizationId],
    );
    return rows[0] ?? null;
  }

  /** Worker side: the import with its CSV and the number of errors stored so far. */
  async findForRun(id: string): Promise<(CustomerImport & { csv: string; storedErrors: number }) | null> {
    const rows = await this.dataSource.query<(CustomerImport & { csv: string; storedErrors: number })[]>(
      `SELECT ${IMPORT_COLUMNS}, csv, jsonb_array_length(errors) AS "storedErrors" FROM customer_imports WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  async markRunning(id: string): Promise<void> {
    await this.dataSource.query(`UPDATE customer_imports SET status = 'running' WHERE id = $1 AND status = 'queued'`, [
      id,
    ]);
  }

  /** Counts one batch in the transaction that inserted it, so a retried job resumes after it. */
  async addProgress(
    id: string,
    progress: { processed: number; failed: number; errors: ImportRowError[] },
    manager: EntityManager,
  ): Promise<void> {
    await manager.query(
      `UPDATE customer_imports
          SET processed_rows = processed_rows + $2, failed_rows = failed_rows + $3, errors = errors || $4::jsonb
        WHERE id = $1`,
      [id, progress.processed, progress.failed, JSON.stringify(progress.errors)],
    );
  }

  async finish(id: string, status: 'completed' | 'failed', manager?: EntityManager): Promise<void> {
    await this.db(manager).query(
      `UPDATE customer_imports SET status = $2, finished_at = now() WHERE id = $1 AND status IN ('queued', 'running')`,
      [id, status],
    );
  }

  /** Which of `emails` (lower-cased) a live customer of the organization already has. */
  async existingEmails(organizationId: string, emails: string[]): Promise<Set<string>> {
    if (!emails.length) return new Set();
    const rows = await this.dataSource.query<{ email: string }[]>(
      `SELECT lower(email::text) AS email FROM customers
        WHERE organization_id = $1 AND deleted_at IS NULL AND email = ANY($2::citext[])`,
      [organizationId, emails],
    );
    return new Set(rows.map((row) => row.email));
  }

  /**
   * Inserts the rows; one whose email a live customer took meanwhile is skipped (the unique index decides,
   * instead of failing the batch). Returns the ids inserted.
   */
  async insertCustomers(
    target: { organizationId: string; departmentId: string | null },
    customers: (ImportedCustomer & { id: string })[],
    manager: EntityManager,
  ): Promise<Set<string>> {
    if (!customers.length) return new Set();
    const rows = await manager.query<{ id: string }[]>(
      `INSERT INTO customers (id, organization_id, department_id, name, email, phone, company, status, tags)
       SELECT r.id, $1, $2, r.name, r.email, r.phone, r.company, r.status, ARRAY(SELECT jsonb_array_elements_text(r.tags))
         FROM jsonb_to_recordset($3::jsonb)
           AS r(id uuid, name text, email citext, phone text, company text, status text, tags jsonb)
       ON CONFLICT (organization_id, email) WHERE deleted_at IS NULL AND email IS NOT NULL DO NOTHING
       RETURNING id`,
      [
        target.organizationId,
        target.departmentId,
        JSON.stringify(
          customers.map(({ id, name, email, phone, company, status, tags }) => ({
            id,
            name,
            email,
            phone,
            company,
            status,
            tags,
          })),
        ),
      ],
    );
    return new Set(rows.map((row) => row.id));
  }

  async departmentExists(organizationId: string, departmentId: string): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      'SELECT 1 FROM departments WHERE id = $1 AND organization_id = $2',
      [departmentId, organizationId],
    );
    return rows.length > 0;
  }
}
