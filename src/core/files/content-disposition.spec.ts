import { contentDisposition, sanitizeFilename } from './content-disposition';

describe('sanitizeFilename', () => {
  it.each<[string, string]>([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\Windows\\System32\\evil.dll', 'evil.dll'],
    ['C:\\Users\\ada\\Desktop\\photo.jpg', 'photo.jpg'],
    ['/var/www/../secret.txt', 'secret.txt'],
    ['invoice\u202Egpj.exe', 'invoicegpj.exe'],
    ['\u2066photo\u2069.jpg', 'photo.jpg'],
    ['zero\u200Bwidth.png', 'zerowidth.png'],
    ['nul\u0000byte.jpg', 'nulbyte.jpg'],
    ['line\r\nContent-Type: text.jpg', 'line Content-Type text.jpg'],
    ['tab\there\u0085.png', 'tab here.png'],
    ['a<b>c:d"e|f?g*h.png', 'abcdefgh.png'],
    ['   lots    of\u00A0\u00A0space   .jpg', 'lots of space .jpg'],
    ['...hidden', 'hidden'],
    ['trailing dots...', 'trailing dots'],
    ['Cafe\u0301.docx', 'Caf\u00e9.docx'],
    ['日本語のファイル.xlsx', '日本語のファイル.xlsx'],
    ['CON', '_CON'],
    ['con.txt', '_con.txt'],
    ['Lpt9.jpg', '_Lpt9.jpg'],
    ['COM\u00B9.png', '_COM\u00B9.png'],
    ['console.log', 'console.log'],
    ['COM10.jpg', 'COM10.jpg'],
  ])('should turn %j into %j', (name, expected) => {
    expect(sanitizeFilename(name, 'jpg')).toBe(expected);
  });

  it.each<[string | undefined]>([[undefined], [''], ['   '], ['...'], ['/'], ['dir/'], ['\u202E\u0000'], ['<>:"|?*']])(
    'should fall back to file.<ext> for %j',
    (name) => {
      expect(sanitizeFilename(name, 'pdf')).toBe('file.pdf');
    },
  );

  it('should sanitise the fallback extension itself', () => {
    expect(sanitizeFilename('', '../x.PNG')).toBe('file.xpng');
    expect(sanitizeFilename('', '')).toBe('file');
  });

  it('should cap long names at 200 characters and keep the extension', () => {
    const name = sanitizeFilename(`${'a'.repeat(500)}.docx`, 'docx');
    expect(name).toBe(`${'a'.repeat(195)}.docx`);
    expect(sanitizeFilename('b'.repeat(300), 'pdf')).toBe('b'.repeat(200));
  });

  it('should count code points and never split a surrogate pair', () => {
    const name = sanitizeFilename(`${'😀'.repeat(250)}.jpg`, 'jpg');
    expect(Array.from(name)).toHaveLength(200);
    expect(name.endsWith('😀.jpg')).toBe(true);
    expect(() => encodeURIComponent(name)).not.toThrow();
  });

  it('should remove lone surrogates', () => {
    expect(sanitizeFilename('a\uD800b\uDC00c.png', 'png')).toBe('abc.png');
  });
});

describe('contentDisposition', () => {
  it('should give ASCII names in both parameters', () => {
    expect(contentDisposition('attachment', 'report.pdf')).toBe(
      `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
    );
    expect(contentDisposition('inline', 'a b.jpg')).toBe(`inline; filename="a b.jpg"; filename*=UTF-8''a%20b.jpg`);
  });

  it('should replace non-ASCII in the fallback and percent-encode UTF-8 in filename*', () => {
    expect(contentDisposition('attachment', 'Café 😀.docx')).toBe(
      `attachment; filename="Caf_ _.docx"; filename*=UTF-8''Caf%C3%A9%20%F0%9F%98%80.docx`,
    );
  });

  it('should keep quotes, backslashes and percent signs out of the quoted fallback', () => {
    const header = contentDisposition('attachment', 'say "hi"\\100%.pdf');
    expect(header).toBe(`attachment; filename="say _hi__100_.pdf"; filename*=UTF-8''say%20%22hi%22%5C100%25.pdf`);
  });

  it("should encode the characters RFC 5987 excludes but encodeURIComponent keeps: ' ( ) *", () => {
    expect(contentDisposition('attachment', "it's (1)*.pdf")).toContain(`filename*=UTF-8''it%27s%20%281%29%2A.pdf`);
  });

  it('should never let a name end the header', () => {
    const header = contentDisposition('attachment', 'x.pdf\r\nSet-Cookie: a=b;\u0000\u202E');
    expect([...header].every((char) => char >= ' ' && char <= '~')).toBe(true);
    expect(header).toBe(
      `attachment; filename="x.pdf  Set-Cookie: a=b;"; filename*=UTF-8''x.pdf%20%20Set-Cookie%3A%20a%3Db%3B`,
    );
  });

  it('should survive lone surrogates and empty names', () => {
    expect(contentDisposition('inline', 'a\uD800.png')).toBe(`inline; filename="a.png"; filename*=UTF-8''a.png`);
    expect(contentDisposition('attachment', '')).toBe('attachment');
  });

  it('should round-trip filename* through decodeURIComponent', () => {
    const name = 'Quarterly «report» – 2025 (final).xlsx';
    const header = contentDisposition('attachment', name);
    const encoded = /filename\*=UTF-8''(.*)$/.exec(header)?.[1] ?? '';
    expect(encoded).toMatch(/^[A-Za-z0-9!#$&+\-.^_`|~%]+$/);
    expect(decodeURIComponent(encoded)).toBe(name);
  });
});
