import { parseCsv } from './csv-parser';
import { csvCell, csvLine } from './csv-writer';

describe(csvCell.name, () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['+cmd', "'+cmd"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
  ])('should neutralise a formula trigger when the value is %p', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it('should quote and double quotes when the value holds a comma, quote or line break', () => {
    expect(csvCell('a,"b"\nc')).toBe('"a,""b""\nc"');
  });

  it('should write null as empty, dates as ISO and objects as JSON when given other types', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell(new Date('2025-01-02T03:04:05.678Z'))).toBe('2025-01-02T03:04:05.678Z');
    expect(csvCell(['a', 'b'])).toBe('"[""a"",""b""]"');
  });

  it('should round-trip through parseCsv when cells need quoting', () => {
    const cells = ['plain', 'with, comma', 'with "quotes"', 'two\r\nlines', ''];
    expect(parseCsv(csvLine(cells))).toEqual([cells]);
  });
});
