// A spreadsheet runs a cell starting with one of these as a formula (CSV injection); an apostrophe makes it text.
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell: formula triggers neutralised, quoted when it holds a comma, quote or line break (RFC 4180).
 * Dates are ISO 8601, other non-strings JSON.
 */
export function csvCell(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (value instanceof Date) text = value.toISOString();
  else if (typeof value === 'string') text = value;
  else text = JSON.stringify(value) ?? '';
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record, CRLF-terminated. */
export function csvLine(cells: readonly unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
