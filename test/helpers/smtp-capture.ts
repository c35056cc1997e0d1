import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { waitFor } from './wait-for';

/** One message as the SMTP server received it. */
export interface CapturedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO), Bcc included. */
  to: string[];
  /** The whole message as sent: headers, blank line, body (UTF-8). */
  raw: string;
  /** The Subject header, RFC 2047 encoded words decoded; '' when absent. */
  subject: string;
  /** The text/plain body (the first one of a multipart message), transfer encoding undone; '' when none. */
  text: string;
}

export interface SmtpCapture {
  host: string;
  port: number;
  /** Every message received so far, in arrival order. */
  messages: CapturedMail[];
  /** The first message (already received or arriving within `timeoutMs`) that satisfies `predicate`. */
  waitForMail(predicate: (mail: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  close(): Promise<void>;
}

/** An SMTP server on a free port of 127.0.0.1 that accepts every message (no auth, no TLS) and keeps it. */
export async function startSmtpCapture(): Promise<SmtpCapture> {
  const messages: CapturedMail[] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // A client that never sends QUIT must not hold `close()` for the default 30 s.
    closeTimeout: 500,
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: Error) => callback(error));
      stream.on('end', () => {
        const { mailFrom, rcptTo } = session.envelope;
        messages.push({
          from: mailFrom ? mailFrom.address : '',
          to: rcptTo.map((recipient) => recipient.address),
          ...parseMessage(Buffer.concat(chunks)),
        });
        callback();
      });
    },
  });

  const host = '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A connection-level error (client went away) must not crash the test process.
  server.on('error', () => undefined);
  const { port } = server.server.address() as AddressInfo;

  return {
    host,
    port,
    messages,
    waitForMail: (predicate, timeoutMs = 5000) =>
      waitFor(() => Promise.resolve(messages.find(predicate)), { timeoutMs, what: 'a matching mail' }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface MimeEntity {
  headers: Map<string, string>;
  /** Body bytes as a latin1 string (one char per byte), still transfer-encoded. */
  body: string;
}

function parseMessage(bytes: Buffer): Pick<CapturedMail, 'raw' | 'subject' | 'text'> {
  const message = parseEntity(bytes.toString('latin1'));
  const subject = message.headers.get('subject');
  return {
    raw: bytes.toString('utf8'),
    subject: subject === undefined ? '' : decodeHeader(subject),
    text: findText(message) ?? '',
  };
}

function parseEntity(source: string): MimeEntity {
  const separator = /\r?\n\r?\n/.exec(source);
  const head = separator ? source.slice(0, separator.index) : source;
  const body = separator ? source.slice(separator.index + separator[0].length) : '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

/** `text/plain; charset="utf-8"` → { type: 'text/plain', params: { charset: 'utf-8' } } */
function parseContentType(value: string | undefined): { type: string; params: Record<string, string> } {
  const [type, ...rest] = (value ?? 'text/plain').split(';');
  const params: Record<string, string> = {};
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq > 0)
      params[param.slice(0, eq).trim().toLowerCase()] = param
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
  }
  return { type: type.trim().toLowerCase(), params };
}

function findText(entity: MimeEntity): string | undefined {
  const { type, params } = parseContentType(entity.headers.get('content-type'));
  if (type.startsWith('multipart/') && params.boundary) {
    for (const part of splitMultipart(entity.body, params.boundary)) {
      const text = findText(parseEntity(part));
      if (text !== undefined) return text;
    }
    return undefined;
  }
  if (type !== 'text/plain') return undefined;
  const encoding = (entity.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const text = decodeBytes(decodeTransfer(entity.body, encoding), params.charset);
  return text.replace(/\r\n/g, '\n').replace(/\n$/, '');
}

function splitMultipart(body: string, boundary: string): string[] {
  const parts: string[] = [];
  const lines = body.split(/\r?\n/);
  let current: string[] | undefined;
  for (const line of lines) {
    if (line.startsWith(`--${boundary}`)) {
      if (current) parts.push(current.join('\r\n'));
      if (line.startsWith(`--${boundary}--`)) return parts;
      current = [];
    } else {
      current?.push(line);
    }
  }
  if (current) parts.push(current.join('\r\n'));
  return parts;
}

function decodeTransfer(body: string, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64');
  if (encoding === 'quoted-printable') {
    // `=` at the end of a line is a soft line break; `=XX` is one byte.
    const unfolded = body.replace(/=\r?\n/g, '').replace(/[ \t]+(\r?\n)/g, '$1');
    return Buffer.from(
      unfolded.replace(/=([0-9A-Fa-f]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    );
  }
  return Buffer.from(body, 'latin1');
}

function decodeBytes(bytes: Buffer, charset = 'utf-8'): string {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

/** Undoes RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`) in a header read as latin1. */
function decodeHeader(value: string): string {
  const utf8 = Buffer.from(value, 'latin1').toString('utf8');
  return utf8
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_match, charset: string, kind: string, data: string) => {
      const bytes =
        kind.toUpperCase() === 'B'
          ? Buffer.from(data, 'base64')
          : Buffer.from(
              data
                .replace(/_/g, ' ')
                .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
              'latin1',
            );
      return decodeBytes(bytes, charset);
    });
}
