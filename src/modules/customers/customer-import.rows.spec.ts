import { dataRecords, readHeader, validateRow, type ImportColumn } from './customer-import.rows';

const COLUMNS: ImportColumn[] = ['name', 'email', 'phone', 'company', 'status', 'tags'];

describe(readHeader.name, () => {
  it('should return the columns in file order when names are known, in any case and spacing', () => {
    expect(readHeader([' Email', 'NAME ', 'tags'])).toEqual({ columns: ['email', 'name', 'tags'] });
  });

  it('should name unknown and repeated columns and the missing name when the header is wrong', () => {
    const result = readHeader(['email', 'fax', 'email']);
    expect(result).toEqual({
      errors: [
        { field: 'header', message: expect.stringContaining('"fax"') as string },
        { field: 'header', message: 'column(s) named twice: email' },
        { field: 'header', message: 'the column "name" is required' },
      ],
    });
  });

  it('should refuse the file when there is no header', () => {
    expect(readHeader(undefined)).toMatchObject({ errors: [{ field: 'header' }] });
    expect(readHeader([''])).toMatchObject({ errors: [{ field: 'header' }] });
  });
});

describe(dataRecords.name, () => {
  it('should number rows as in the file and skip blank lines when given records', () => {
    expect(dataRecords([['name'], ['a'], [''], ['  '], ['b']])).toEqual([
      { row: 2, cells: ['a'] },
      { row: 5, cells: ['b'] },
    ]);
  });
});

describe(validateRow.name, () => {
  it('should normalise a valid row when every field is well-formed', () => {
    const result = validateRow(
      { row: 2, cells: [' Ada ', 'ADA@Example.com', '+44 1', 'Acme', 'Active', 'vip; b2b ;;vip'] },
      COLUMNS,
    );
    expect(result).toEqual({
      customer: {
        row: 2,
        name: 'Ada',
        email: 'ada@example.com',
        phone: '+44 1',
        company: 'Acme',
        status: 'active',
        tags: ['vip', 'b2b'],
      },
    });
  });

  it('should default the status to lead and empty fields to null when they are blank', () => {
    expect(validateRow({ row: 3, cells: ['Bob'] }, ['name'])).toEqual({
      customer: { row: 3, name: 'Bob', email: null, phone: null, company: null, status: 'lead', tags: [] },
    });
  });

  it('should name the row and every bad field when the row is invalid', () => {
    expect(validateRow({ row: 7, cells: ['', 'not-an-email', '', '', 'gold', ''] }, COLUMNS)).toEqual({
      errors: [
        { row: 7, field: 'name', message: 'name is required' },
        { row: 7, field: 'email', message: 'email must be a valid email address' },
        { row: 7, field: 'status', message: 'status must be one of lead, prospect, active, churned' },
      ],
    });
  });

  it('should refuse the whole row when it has another number of fields than the header', () => {
    expect(validateRow({ row: 4, cells: ['a', 'b'] }, COLUMNS)).toEqual({
      errors: [{ row: 4, field: '*', message: 'expected 6 fields, found 2' }],
    });
  });
});
