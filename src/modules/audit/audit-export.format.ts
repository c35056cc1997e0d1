import { csvLine } from '../../core/csv/csv-writer';
import type { AuditLogEntry } from './audit-log.entity';

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
] as const satisfies readonly (keyof AuditLogEntry)[];

export function csvRow(entry: AuditLogEntry): string {
  return csvLine(EXPORT_COLUMNS.map((column) => entry[column]));
}

export function ndjsonRow(entry: AuditLogEntry): string {
  return `${JSON.stringify(Object.fromEntries(EXPORT_COLUMNS.map((column) => [column, entry[column]])))}\n`;
}
