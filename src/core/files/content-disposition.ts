/**
 * File names from clients are shown in the UI and sent back in Content-Disposition, and end up on the
 * downloading user's disk: they must not carry paths, spoof their extension, break a header or name a device.
 */

const MAX_NAME_CHARS = 200;
// An extension longer than this is just part of the name when shortening.
const MAX_EXTENSION_CHARS = 16;

const WINDOWS_ILLEGAL = /[<>:"/\\|?*]/g;
// Windows opens the device for these names whatever their extension ("nul.txt"), superscript digits included.
const RESERVED = /^(con|prn|aux|nul|com[1-9¹²³]|lpt[1-9¹²³])(\.|$)/i;

export function sanitizeFilename(name: string | undefined, fallbackExtension: string): string {
  const extension = fallbackExtension.toLowerCase().replace(/[^a-z0-9]/g, '');
  const fallback = extension ? `file.${extension}` : 'file';
  const base = (name ?? '').split(/[/\\]/).pop() ?? '';
  let clean = withoutInvisible(base)
    .normalize('NFC')
    .replace(WINDOWS_ILLEGAL, '')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  clean = shorten(clean);
  if (!clean) return fallback;
  return RESERVED.test(clean) ? `_${clean}` : clean;
}

// C0/C1 controls, bidi embeddings/overrides/isolates and invisible marks ('invoice\u202Egpj.exe' displays as
// "invoiceexe.jpg"), the byte order mark, and lone surrogates (which no encoder can turn into UTF-8). Line
// breaks and tabs become spaces: they separate words.
function withoutInvisible(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0x09 && code <= 0x0d) out += ' ';
    else if (!isInvisible(code)) out += char;
  }
  return out;
}

function isInvisible(code: number): boolean {
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x2069) ||
    code === 0xfeff ||
    (code >= 0xd800 && code <= 0xdfff)
  );
}

// Counted in code points, so that a cut never splits a surrogate pair; the extension survives the cut.
function shorten(name: string): string {
  const chars = Array.from(name);
  if (chars.length <= MAX_NAME_CHARS) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? Array.from(name.slice(dot)) : [];
  const kept = extension.length <= MAX_EXTENSION_CHARS + 1 ? extension : [];
  const stem = chars
    .slice(0, MAX_NAME_CHARS - kept.length)
    .join('')
    .replace(/[\s.]+$/, '');
  return stem + kept.join('');
}

/**
 * An RFC 6266 header value: an ASCII `filename` for old clients and `filename*` (RFC 5987, UTF-8) that
 * current browsers prefer. Safe for any input: nothing in it can end the header or the quoted string.
 */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string): string {
  const name = withoutInvisible(filename);
  if (!name) return kind;
  return `${kind}; filename="${asciiFallback(name)}"; filename*=UTF-8''${encodeRfc5987(name)}`;
}

// Quotes and backslashes are replaced rather than escaped, since clients disagree about quoted-pair; "%" too,
// since some clients percent-decode the plain parameter.
function asciiFallback(name: string): string {
  let out = '';
  for (const char of name) out += /^[\x20-\x7e]$/.test(char) && !/["\\%]/.test(char) ? char : '_';
  return out;
}

// encodeURIComponent leaves ' ( ) * alone, which RFC 5987's attr-char does not allow.
function encodeRfc5987(name: string): string {
  return encodeURIComponent(name).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}
