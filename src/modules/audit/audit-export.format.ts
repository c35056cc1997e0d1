import type { AuditLog } from './audit-log.entity';

/** The export's columns, in order (CSV header and NDJSON keys). */
export const EXPORT_COLUMNS = [
  'id',
  'occurredAt',
  'organizationId',
  'actorId',
  'action',
  'resourceType',
  'resourceId',
  'outcome',
  'ip',
  'userAgent',
  'requestId',
  'changes',
  'details',
  'seq',
  'prevHash',
  'hash',
] as const satisfies readonly (keyof AuditLog)[];

// A spreadsheet runs a cell starting with one of these as a formula (CSV injection); an apostrophe makes it text.
const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV cell: formula triggers neutralised, quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvCell(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (value instanceof Date) text = value.toISOString();
  else if (typeof value === 'string') text = value;
  else text = JSON.stringify(value) ?? '';
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(cells: readonly unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function csvRow(entry: AuditLog): string {
  return csvLine(EXPORT_COLUMNS.map((column) => entry[column]));
}

export function ndjsonRow(entry: AuditLog): string {
  return `${JSON.stringify(Object.fromEntries(EXPORT_COLUMNS.map((column) => [column, entry[column]])))}\n`;
}
