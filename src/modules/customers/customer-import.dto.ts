import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import type { ImportRowError } from './customer-import.rows';

export const CUSTOMER_IMPORT_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
export type CustomerImportStatus = (typeof CUSTOMER_IMPORT_STATUSES)[number];

/** An import as stored, without its CSV. */
export interface CustomerImport {
  id: string;
  organizationId: string;
  createdBy: string | null;
  departmentId: string | null;
  status: CustomerImportStatus;
  totalRows: number;
  processedRows: number;
  failedRows: number;
  errors: ImportRowError[];
  createdAt: Date;
  finishedAt: Date | null;
}

export class StartCustomerImportQueryDto {
  /** The department the imported customers go into; organization-level customers when absent. */
  @IsOptional()
  @IsUUID()
  departmentId?: string;
}

export class CustomerImportIdParams {
  @IsUUID()
  id: string;
}

export class CustomerImportRowErrorDto {
  /** The record's position in the file, the header being row 1 (a spreadsheet's row number). */
  @ApiProperty({ type: 'integer', example: 7 })
  row: number;
  /** The column at fault, or `*` when the row as a whole is malformed. */
  @ApiProperty({ example: 'email' })
  field: string;
  @ApiProperty({ example: 'email must be a valid email address' })
  message: string;
}

export class CustomerImportDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  id: string;
  @ApiProperty({ enum: CUSTOMER_IMPORT_STATUSES })
  status: CustomerImportStatus;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  departmentId: string | null;
  /** Data rows in the file (blank lines not counted). */
  @ApiProperty({ type: 'integer' })
  totalRows: number;
  /** Rows handled so far, imported or not; equals totalRows once completed. */
  @ApiProperty({ type: 'integer' })
  processedRows: number;
  /** Rows refused (invalid, or a duplicate email in the file or among the organization's customers). */
  @ApiProperty({ type: 'integer' })
  failedRows: number;
  /** Rows imported: processedRows - failedRows. */
  @ApiProperty({ type: 'integer' })
  importedRows: number;
  /** Why rows were refused, in row order; only the first 1,000 are kept. */
  @ApiProperty({ type: [CustomerImportRowErrorDto] })
  errors: CustomerImportRowErrorDto[];
  createdAt: Date;
  @ApiProperty({ type: Date, nullable: true })
  finishedAt: Date | null;

  static from(row: CustomerImport): CustomerImportDto {
    return Object.assign(new CustomerImportDto(), {
      id: row.id,
      status: row.status,
      departmentId: row.departmentId,
      totalRows: row.totalRows,
      processedRows: row.processedRows,
      failedRows: row.failedRows,
      importedRows: row.processedRows - row.failedRows,
      errors: row.errors,
      createdAt: row.createdAt,
      finishedAt: row.finishedAt,
    });
  }
}
