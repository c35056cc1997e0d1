/** A CSV text that is not well-formed; `row` is the 1-based record where parsing stopped. */
export class CsvSyntaxError extends Error {
  override readonly name = 'CsvSyntaxError';

  constructor(
    message: string,
    readonly row: number,
  ) {
    super(message);
  }
}

/**
 * Parses RFC 4180 CSV: comma-separated fields, fields in double quotes may hold commas, line breaks and
 * doubled quotes (`""`); records end with CRLF or LF (a lone CR inside an unquoted field is kept). A leading
 * UTF-8 BOM is dropped (spreadsheets write one). A final line break does not start an empty record.
 * Throws CsvSyntaxError on a quote inside an unquoted field, text after a closing quote, or an unterminated
 * quoted field.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let index = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const length = text.length;
  // Whether the current record has content; a final line break does not start another record.
  let fieldStarted = false;

  const endField = (): void => {
    record.push(field);
    field = '';
  };
  const endRecord = (): void => {
    endField();
    records.push(record);
    record = [];
    fieldStarted = false;
  };

  while (index < length) {
    const char = text[index];
    if (char === '"' && field === '') {
      // A quote at the start of a field opens a quoted field: read to the closing quote.
      index++;
      const start = records.length + 1;
      for (;;) {
        if (index >= length) throw new CsvSyntaxError('unterminated quoted field', start);
        const next = text.indexOf('"', index);
        if (next < 0) throw new CsvSyntaxError('unterminated quoted field', start);
        field += text.slice(index, next);
        if (text[next + 1] === '"') {
          field += '"';
          index = next + 2;
          continue;
        }
        index = next + 1;
        break;
      }
      fieldStarted = true;
      const after = text[index];
      if (index < length && after !== ',' && after !== '\n' && !(after === '\r' && text[index + 1] === '\n')) {
        throw new CsvSyntaxError('unexpected text after a closing quote', records.length + 1);
      }
      continue;
    }
    if (char === ',') {
      endField();
      fieldStarted = true;
      index++;
    } else if (char === '\n') {
      endRecord();
      index++;
    } else if (char === '\r' && text[index + 1] === '\n') {
      endRecord();
      index += 2;
    } else if (char === '"') {
      throw new CsvSyntaxError('a quote inside an unquoted field', records.length + 1);
    } else {
      // Plain run up to the next delimiter, quote or line break.
      let end = index + 1;
      while (end < length) {
        const c = text[end];
        if (c === ',' || c === '\n' || c === '"' || (c === '\r' && text[end + 1] === '\n')) break;
        end++;
      }
      field += text.slice(index, end);
      fieldStarted = true;
      index = end;
    }
  }
  if (fieldStarted || field !== '' || record.length > 0) endRecord();
  return records;
}
