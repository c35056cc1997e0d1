import { CsvSyntaxError, parseCsv } from './csv-parser';

describe(parseCsv.name, () => {
  it('should split records and fields when the text is plain', () => {
    expect(parseCsv('a,b,c\n1,2,3\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ]);
  });

  it('should accept CRLF and a missing final line break when records end either way', () => {
    expect(parseCsv('a,b\r\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('should keep commas, line breaks and escaped quotes when a field is quoted', () => {
    expect(parseCsv('name,note\r\n"Doe, Jane","said ""hi""\r\nthen left"\r\n')).toEqual([
      ['name', 'note'],
      ['Doe, Jane', 'said "hi"\r\nthen left'],
    ]);
  });

  it('should keep empty fields when delimiters are adjacent or the record ends with a comma', () => {
    expect(parseCsv('a,,c\n,\n""\n')).toEqual([['a', '', 'c'], ['', ''], ['']]);
  });

  it('should return an empty record when a line in the middle is empty', () => {
    expect(parseCsv('a\n\nb\n')).toEqual([['a'], [''], ['b']]);
  });

  it('should drop a leading byte order mark when the file starts with one', () => {
    expect(parseCsv('\ufeffname\nx')).toEqual([['name'], ['x']]);
  });

  it('should keep a lone CR when it is not followed by LF', () => {
    expect(parseCsv('a\rb,c\n')).toEqual([['a\rb', 'c']]);
  });

  it('should return no records when the text is empty', () => {
    expect(parseCsv('')).toEqual([]);
  });

  it.each([
    ['an unterminated quoted field', 'a\n"open,b\n', 2],
    ['text after a closing quote', 'a\n"x"y\n', 2],
    ['a quote inside an unquoted field', 'a\nx"y\n', 2],
  ])('should throw naming the record when the text has %s', (_label, text, row) => {
    let caught: unknown;
    try {
      parseCsv(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CsvSyntaxError);
    expect((caught as CsvSyntaxError).row).toBe(row);
  });
});
