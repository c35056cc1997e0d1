import { isEmail } from 'class-validator';
import type { FieldError } from '../../core/exceptions/app.exception';
import { CUSTOMER_STATUSES, type CustomerStatus } from './customer.entity';

/** The columns an import file may have, in any order; only `name` is required. */
export const IMPORT_COLUMNS = ['name', 'email', 'phone', 'company', 'status', 'tags'] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];

export const MAX_TAGS = 50;
export const MAX_TAG_LENGTH = 100;

/** One problem with one row: `row` is the record's position in the file, the header being row 1. */
export interface ImportRowError {
  row: number;
  /** A column name, or `*` when the row as a whole is malformed. */
  field: string;
  message: string;
}

/** A valid row, ready to insert. */
export interface ImportedCustomer {
  row: number;
  name: string;
  email: string | null;
  phone: string | null;
  company: string | null;
  status: CustomerStatus;
  tags: string[];
}

/** A data record with its row number; blank lines are not records. */
export interface ImportRecord {
  row: number;
  cells: string[];
}

/** The header's columns in file order, or field errors on `header`. Names are trimmed and case-insensitive. */
export function readHeader(
  cells: readonly string[] | undefined,
): { columns: ImportColumn[] } | { errors: FieldError[] } {
  if (!cells || cells.every((cell) => cell.trim() === '')) {
    return {
      errors: [{ field: 'header', message: `the first row must name the columns (${IMPORT_COLUMNS.join(', ')})` }],
    };
  }
  const names = cells.map((cell) => cell.trim().toLowerCase());
  const errors: FieldError[] = [];
  const unknown = names.filter((name) => !(IMPORT_COLUMNS as readonly string[]).includes(name));
  if (unknown.length) {
    errors.push({
      field: 'header',
      message: `unknown column(s) ${unknown.map((name) => `"${name}"`).join(', ')}; allowed: ${IMPORT_COLUMNS.join(', ')}`,
    });
  }
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  if (repeated.length)
    errors.push({ field: 'header', message: `column(s) named twice: ${[...new Set(repeated)].join(', ')}` });
  if (!names.includes('name')) errors.push({ field: 'header', message: 'the column "name" is required' });
  return errors.length ? { errors } : { columns: names as ImportColumn[] };
}

/** The data records after the header, numbered as in the file, without blank lines. */
export function dataRecords(records: readonly string[][]): ImportRecord[] {
  const result: ImportRecord[] = [];
  for (let index = 1; index < records.length; index++) {
    const cells = records[index];
    if (cells.every((cell) => cell.trim() === '')) continue;
    result.push({ row: index + 1, cells });
  }
  return result;
}

/** Checks one record on its own (duplicates across rows and with stored customers are the caller's). */
export function validateRow(
  record: ImportRecord,
  columns: readonly ImportColumn[],
): { customer: ImportedCustomer } | { errors: ImportRowError[] } {
  const { row, cells } = record;
  if (cells.length !== columns.length) {
    return { errors: [{ row, field: '*', message: `expected ${columns.length} fields, found ${cells.length}` }] };
  }
  const value = (column: ImportColumn): string => {
    const index = columns.indexOf(column);
    return index < 0 ? '' : cells[index].trim();
  };
  const errors: ImportRowError[] = [];
  const fail = (field: ImportColumn, message: string): void => {
    errors.push({ row, field, message });
  };

  const name = value('name');
  if (!name) fail('name', 'name is required');
  else if (name.length > 200) fail('name', 'name must be at most 200 characters');

  const email = value('email').toLowerCase();
  if (email && (email.length > 254 || !isEmail(email))) fail('email', 'email must be a valid email address');

  const phone = value('phone');
  if (phone.length > 50) fail('phone', 'phone must be at most 50 characters');

  const company = value('company');
  if (company.length > 200) fail('company', 'company must be at most 200 characters');

  const rawStatus = value('status').toLowerCase();
  const status = (rawStatus || 'lead') as CustomerStatus;
  if (!CUSTOMER_STATUSES.includes(status)) fail('status', `status must be one of ${CUSTOMER_STATUSES.join(', ')}`);

  const tags = [
    ...new Set(
      value('tags')
        .split(';')
        .map((tag) => tag.trim())
        .filter(Boolean),
    ),
  ];
  if (tags.length > MAX_TAGS) fail('tags', `at most ${MAX_TAGS} tags`);
  else if (tags.some((tag) => tag.length > MAX_TAG_LENGTH))
    fail('tags', `tags must be at most ${MAX_TAG_LENGTH} characters`);

  if (errors.length) return { errors };
  return {
    customer: { row, name, email: email || null, phone: phone || null, company: company || null, status, tags },
  };
}
