import { types } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/core/database/data-source.options';
import { TIMESTAMPTZ_OID } from '../../src/core/database/timestamptz';
import { testConfig } from '../helpers/test-app';

const postgresDate = types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => Date | number | null;

interface Row {
  t: Date | number | null;
  text: string;
  /** floor(epoch × 1000): the millisecond a JS Date of the value must hold; null beyond JS dates. */
  ms: string | null;
}

// Zones whose offsets have minutes (Kathmandu +05:45, St John's -03:30, Chatham +13:45) or, before
// standard time, seconds (Amsterdam +00:19:32, Monrovia -00:44:30, Kathmandu +05:41:16).
const ZONES = [
  'UTC',
  'Asia/Kathmandu',
  'America/St_Johns',
  'Europe/Amsterdam',
  'Africa/Monrovia',
  'Pacific/Chatham',
  'America/Sao_Paulo',
];

const VALUES = `
  SELECT ts FROM generate_series('1800-01-01 00:00:00+00'::timestamptz, '2100-01-01', interval '211 days 5 hours 7 minutes 13.123457 seconds') ts
  UNION ALL SELECT unnest(ARRAY[
    '1000-01-01 00:00:00+00', '1000-01-01 00:00:00.000001+00', '1969-12-31 23:59:59.999999+00',
    '1970-01-01 00:00:00+00', '1970-01-01 00:00:00.0005+00', '2026-11-26 15:06:39.1+00', '2026-11-26 15:06:39.12+00',
    '2026-11-26 15:06:39.123+00', '2026-11-26 15:06:39.1234+00', '2026-11-26 15:06:39.12345+00',
    '2026-11-26 15:06:39.123456+00', '9999-12-31 23:59:59.999999+00', '0099-06-01 12:00:00+00',
    '0001-01-01 00:00:00+00 BC', '12026-01-01 00:00:00+00', 'infinity', '-infinity'
  ]::timestamptz[])`;

describe('timestamptz from PostgreSQL', () => {
  let db: DataSource;

  beforeAll(async () => {
    db = await new DataSource(dataSourceOptions(testConfig(), 'atrium-test-timestamptz')).initialize();
  });

  afterAll(async () => {
    await db?.destroy();
  });

  async function rows(zone: string, dateStyle: string): Promise<Row[]> {
    return db.transaction(async (m) => {
      await m.query(`SELECT set_config('TimeZone', $1, true), set_config('DateStyle', $2, true)`, [zone, dateStyle]);
      return m.query<Row[]>(
        `SELECT ts AS t, ts::text AS text,
                CASE WHEN isfinite(ts) AND ts >= '0999-12-31 00:00:00+00' AND ts < '10000-01-02 00:00:00+00'
                     THEN floor(extract(epoch FROM ts) * 1000)::text END AS ms
         FROM (${VALUES}) v`,
      );
    });
  }

  it.each(ZONES)('should read every value as the instant PostgreSQL holds, in time zone %s', async (zone) => {
    const read = await rows(zone, 'ISO, MDY');
    expect(read.length).toBeGreaterThan(500);
    for (const row of read) {
      const expected = postgresDate(row.text);
      // Exactly what pg's own parser (postgres-date) makes of the same text…
      expect([row.text, row.t instanceof Date ? row.t.getTime() : row.t]).toEqual([
        row.text,
        expected instanceof Date ? expected.getTime() : expected,
      ]);
      // …and, for years 1000–9999 AD, the instant itself.
      if (row.ms !== null && /^[1-9]\d{3}-/.test(row.text) && !row.text.endsWith(' BC')) {
        expect([row.text, (row.t as Date).getTime()]).toEqual([row.text, Number(row.ms)]);
      }
    }
  });

  it.each(['ISO, DMY', 'ISO, YMD', 'SQL, DMY', 'Postgres, MDY', 'German'])(
    'should read what postgres-date reads with DateStyle %s',
    async (dateStyle) => {
      for (const row of await rows('Asia/Kathmandu', dateStyle)) {
        const expected = postgresDate(row.text);
        expect([row.text, String(row.t)]).toEqual([row.text, String(expected)]);
      }
    },
  );
});
