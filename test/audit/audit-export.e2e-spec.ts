import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { EXPORT_BATCH_SIZE } from '../../src/modules/audit/audit-export.service';
import { insertAuditEntries, monthStart, type AuditEntryFixture } from '../helpers/audit-fixtures';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';

const BASE = new Date(monthStart(2).getTime() + 11 * 86_400_000);
const at = (seconds: number) => new Date(BASE.getTime() + seconds * 1000);
const WINDOW = `from=${BASE.toISOString()}&to=${at(86_400).toISOString()}`;

/** Splits RFC 4180 CSV into rows of cells (quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (quoted && c === '"') {
      quoted = false;
    } else if (quoted) {
      cell += c;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      rows.push([...row, cell]);
      row = [];
      cell = '';
      i++;
    } else {
      cell += c;
    }
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

describe('Audit log export', () => {
  let app: NestFastifyApplication;
  let owner: TestAccount;
  let other: TestAccount;

  beforeAll(async () => {
    app = await createTestApp();
    const db = app.get(DataSource);
    [owner, other] = await Promise.all([registerOwner(app, 'export-owner'), registerOwner(app, 'export-other')]);
    const hostile: AuditEntryFixture[] = [
      { occurredAt: at(1), action: '=HYPERLINK("http://evil.example","x")', resourceId: '+1' },
      { occurredAt: at(2), action: '@SUM(A1:A2)', resourceId: '-2', userAgent: 'Mozilla/5.0 (X11, "quoted")' },
      { occurredAt: at(3), action: '\tcmd', resourceId: '\rline', details: { note: 'multi\nline, with comma' } },
    ];
    await insertAuditEntries(db, owner.organizationId, hostile);
    // More than two batches, in a window of their own.
    const many = Array.from({ length: EXPORT_BATCH_SIZE * 2 + 500 }, (_, i) => ({
      occurredAt: at(3600 + i),
      action: 'bulk.insert',
      details: { i },
    }));
    await insertAuditEntries(db, owner.organizationId, many);
    await insertAuditEntries(db, other.organizationId, [{ occurredAt: at(5), action: 'other.org' }]);
  });

  afterAll(async () => {
    await app.close();
  });

  const exportOf = (token: string, query: string) =>
    app.inject({ url: `/api/v1/audit-logs/export?${query}`, headers: bearer(token) });

  it('should stream CSV with a header, quoting and formula cells neutralised when format is csv', async () => {
    const res = await exportOf(
      owner.accessToken,
      `format=csv&sort=occurredAt&from=${BASE.toISOString()}&to=${at(10).toISOString()}`,
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="audit-logs-[0-9TZ-]+\.csv"$/);
    const [header, ...rows] = parseCsv(res.body);
    expect(header.slice(0, 5)).toEqual(['id', 'occurredAt', 'organizationId', 'actorId', 'action']);
    expect(rows).toHaveLength(3);
    const cell = (row: string[], name: string) => row[header.indexOf(name)];
    expect(cell(rows[0], 'action')).toBe(`'=HYPERLINK("http://evil.example","x")`);
    expect(cell(rows[0], 'resourceId')).toBe("'+1");
    expect(cell(rows[1], 'action')).toBe("'@SUM(A1:A2)");
    expect(cell(rows[1], 'resourceId')).toBe("'-2");
    expect(cell(rows[1], 'userAgent')).toBe('Mozilla/5.0 (X11, "quoted")');
    expect(cell(rows[2], 'action')).toBe("'\tcmd");
    expect(cell(rows[2], 'resourceId')).toBe("'\rline");
    expect(JSON.parse(cell(rows[2], 'details'))).toEqual({ note: 'multi\nline, with comma' });
    expect(new Set(rows.map((row) => cell(row, 'organizationId')))).toEqual(new Set([owner.organizationId]));
  });

  it('should stream every matching row as NDJSON across batches, in order, when format is ndjson', async () => {
    const res = await exportOf(owner.accessToken, `format=ndjson&${WINDOW}&action=bulk.insert`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/filename="audit-logs-[0-9TZ-]+\.ndjson"$/);
    const lines = res.body.trimEnd().split('\n');
    expect(lines).toHaveLength(EXPORT_BATCH_SIZE * 2 + 500);
    const parsed = lines.map((line) => JSON.parse(line) as { details: { i: number }; organizationId: string });
    // Newest first by default: details.i counts down with no row repeated or skipped at batch boundaries.
    expect(parsed.map((row) => row.details.i)).toEqual(
      Array.from({ length: EXPORT_BATCH_SIZE * 2 + 500 }, (_, i) => EXPORT_BATCH_SIZE * 2 + 499 - i),
    );
    expect(parsed.every((row) => row.organizationId === owner.organizationId)).toBe(true);
  });

  it('should export only the caller organization', async () => {
    const res = await exportOf(other.accessToken, `format=ndjson&${WINDOW}`);
    const lines = res.body.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ action: 'other.org', organizationId: other.organizationId });
  });

  it('should answer 400 when the format is unknown', async () => {
    expectProblem(await exportOf(owner.accessToken, 'format=xlsx'), 400, 'validation-failed');
  });
});
