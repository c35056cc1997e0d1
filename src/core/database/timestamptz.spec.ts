import { types } from 'pg';
import { parseIsoTimestamptz, parseTimestamptz, PG_TYPES, TIMESTAMPTZ_OID } from './timestamptz';

/** postgres-date, pg's default timestamptz parser: what the fast path must agree with exactly. */
const reference = types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => Date | number | null;

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** A seeded PRNG (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Offsets PostgreSQL writes: whole hours, half and quarter hours, and local mean times with seconds.
const OFFSETS = [
  '+00',
  '-05',
  '+01',
  '+14',
  '-12',
  '+05:30',
  '-03:30',
  '+05:45',
  '+13:45',
  '+00:19:32',
  '-00:01:15',
  '+01:24:00',
];

describe(parseTimestamptz.name, () => {
  it('should equal postgres-date for every fraction length and offset', () => {
    const next = random(9);
    let fast = 0;
    for (let i = 0; i < 50_000; i++) {
      const year = 1000 + Math.floor(next() * 9000);
      const digits = Math.floor(next() * 7);
      const fraction = digits ? `.${pad(Math.floor(next() * 10 ** digits), digits)}` : '';
      const text =
        `${year}-${pad(1 + Math.floor(next() * 12), 2)}-${pad(1 + Math.floor(next() * 28), 2)} ` +
        `${pad(Math.floor(next() * 24), 2)}:${pad(Math.floor(next() * 60), 2)}:${pad(Math.floor(next() * 60), 2)}` +
        `${fraction}${OFFSETS[i % OFFSETS.length]}`;
      const parsed = parseTimestamptz(text);
      const expected = reference(text);
      expect(parsed).toBeInstanceOf(Date);
      if ((parsed as Date).getTime() !== (expected as Date).getTime()) {
        throw new Error(
          `${text}: ${(parsed as Date).toISOString()} vs postgres-date ${(expected as Date).toISOString()}`,
        );
      }
      if (parseIsoTimestamptz(text)) fast++;
    }
    expect(fast).toBe(50_000);
  });

  it('should truncate every microsecond value to the millisecond as postgres-date does', () => {
    for (let micro = 0; micro < 1_000_000; micro += 13) {
      const text = `2026-11-26 15:06:39.${pad(micro, 6).replace(/0+$/, '') || '0'}+00`;
      expect(parseIsoTimestamptz(text)?.getTime()).toBe((reference(text) as Date).getTime());
    }
  });

  it.each([
    'infinity',
    '-infinity',
    '0099-01-01 00:00:00+00',
    '0001-01-01 00:00:00+00 BC',
    '2026-01-01 00:00:00+00 BC',
    '12026-01-01 00:00:00+00',
    '275760-09-13 00:00:00+00',
    '2026-01-01 00:00:00.1234567+00',
    '2026-01-01 00:00:00.+00',
    '2026-01-01 00:00:00',
    '2026-01-01 00:00:00Z',
    '2026-01-01T00:00:00+00',
    '26/11/2026 15:06:39.123 UTC',
    'Thu Nov 26 15:06:39.123 2026 UTC',
    '26.11.2026 15:06:39.123 UTC',
    '2026-01-01 00:00:00+0a',
    '2026-01-01 00:00:00+05:3',
    '2026-1a-01 00:00:00+00',
  ])('should leave %p to postgres-date', (text) => {
    expect(parseIsoTimestamptz(text)).toBeUndefined();
    // The same object postgres-date makes (Invalid Date included, which toEqual would not call equal).
    const [parsed, expected] = [parseTimestamptz(text), reference(text)];
    expect(String(parsed)).toBe(String(expected));
    expect(parsed instanceof Date ? parsed.getTime() : parsed).toEqual(
      expected instanceof Date ? expected.getTime() : expected,
    );
  });

  it('should be what Atrium’s connections use for timestamptz text, and pg’s parsers for everything else', () => {
    expect(PG_TYPES.getTypeParser(TIMESTAMPTZ_OID, 'text')).toBe(parseTimestamptz);
    expect(PG_TYPES.getTypeParser(TIMESTAMPTZ_OID)).toBe(parseTimestamptz);
    for (const oid of [16, 20, 23, 25, 114, 1082, 1114, 1185, 3802]) {
      expect(PG_TYPES.getTypeParser(oid, 'text')).toBe(types.getTypeParser(oid, 'text'));
    }
    expect(PG_TYPES.getTypeParser(TIMESTAMPTZ_OID, 'binary')).toBe(types.getTypeParser(TIMESTAMPTZ_OID, 'binary'));
  });
});
