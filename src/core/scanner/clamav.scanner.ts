import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { AppConfig } from '../../config/app.config';
import { parseClamdReply, TOO_LARGE } from './clamav-reply';
import { ClamdConnection, type ClamdOutcome } from './clamd-connection';
import { VirusScanner, type ScanVerdict } from './virus-scanner';

export type ClamavOptions = NonNullable<AppConfig['scanner']>;

/** Upper bound of one INSTREAM chunk, whatever sizes the source yields: bounds what a single write holds. */
const CHUNK_BYTES = 64 * 1024;

/** A health check must answer quickly even when scans may take a minute. */
const PING_TIMEOUT_MS = 5000;

const INSTREAM = Buffer.from('zINSTREAM\0');
const PING = Buffer.from('zPING\0');
const END_OF_STREAM = Buffer.alloc(4);

/**
 * Scans with clamd over its INSTREAM protocol (TCP or unix socket), one connection per scan. See
 * VirusScanner for what counts as clean; here, additionally, a stream longer than `streamMaxBytes` is cut
 * off on our side (error, never a partial scan) so clamd's own StreamMaxLength is normally never reached.
 */
export class ClamavScanner extends VirusScanner {
  constructor(private readonly options: ClamavOptions) {
    super();
  }

  async scan(source: Readable): Promise<ScanVerdict> {
    const connection = new ClamdConnection(this.options);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<ScanVerdict>((resolve) => {
      timer = setTimeout(
        () => resolve({ status: 'error', reason: `scan timed out after ${this.options.timeoutMs} ms` }),
        this.options.timeoutMs,
      );
    });
    try {
      // After a timeout the exchange is abandoned; the race keeps its late rejection (the source destroyed
      // below) handled.
      return await Promise.race([this.exchange(source, connection), timedOut]);
    } finally {
      clearTimeout(timer);
      connection.close();
      // Stops whatever produces the bytes (e.g. a storage download) when the scan ended before the stream did.
      if (!source.readableEnded) source.destroy();
    }
  }

  async ping(): Promise<boolean> {
    const connection = new ClamdConnection(this.options);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.min(this.options.timeoutMs, PING_TIMEOUT_MS));
    });
    try {
      connection.socket.write(PING);
      const outcome = await Promise.race([connection.outcome, timedOut]);
      return outcome !== undefined && 'reply' in outcome && outcome.reply === 'PONG';
    } finally {
      clearTimeout(timer);
      connection.close();
    }
  }

  /** Sends the stream and reads the verdict; rejects only when the source stream fails. */
  private async exchange(source: Readable, connection: ClamdConnection): Promise<ScanVerdict> {
    const { socket } = connection;
    socket.write(INSTREAM);
    let sent = 0;
    // Reading on demand, one chunk at a time, and waiting for the socket to drain before the next keeps at
    // most a socket buffer of the file in memory, however slow clamd is.
    for await (const data of source) {
      const bytes = toBuffer(data);
      // Empty chunks are skipped: a zero length is clamd's end-of-stream marker.
      for (let offset = 0; offset < bytes.length && !connection.answered; offset += CHUNK_BYTES) {
        const chunk = bytes.subarray(offset, offset + CHUNK_BYTES);
        sent += chunk.length;
        if (sent > this.options.streamMaxBytes) return { status: 'error', reason: TOO_LARGE };
        if (!writeChunk(socket, chunk)) await drained(connection);
      }
      // clamd answers before the end only to refuse (size limit) or when the connection failed.
      if (connection.answered) break;
    }
    const endSent = !connection.answered;
    if (endSent) socket.write(END_OF_STREAM);
    return verdictOf(await connection.outcome, endSent);
  }
}

function verdictOf(outcome: ClamdOutcome, endSent: boolean): ScanVerdict {
  if ('failure' in outcome) {
    // clamd closes the connection, unread data and all, when a stream passes its StreamMaxLength. It replies
    // first, but a write of ours failing before we read that reply destroys the socket and the reply with it.
    if (outcome.code === 'EPIPE' || outcome.code === 'ECONNRESET') {
      return {
        status: 'error',
        reason: `clamd closed the connection before reading the whole stream (${outcome.code}); it does so beyond its StreamMaxLength, which must not be below CLAMAV_STREAM_MAX_BYTES`,
      };
    }
    return { status: 'error', reason: outcome.failure };
  }
  const verdict = parseClamdReply(outcome.reply);
  if (!endSent && verdict.status === 'clean') {
    return { status: 'error', reason: 'clamd answered "stream: OK" before the stream ended' };
  }
  return verdict;
}

/** One INSTREAM chunk: 4-byte big-endian length, then the bytes. False when the socket wants a pause. */
function writeChunk(socket: Socket, chunk: Buffer): boolean {
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(chunk.length);
  socket.cork();
  socket.write(length);
  const ready = socket.write(chunk);
  socket.uncork();
  return ready;
}

/** Resolves once the socket drains, or when waiting is pointless (closed, or clamd has answered). */
function drained(connection: ClamdConnection): Promise<unknown> {
  const { socket } = connection;
  let done!: () => void;
  const drain = new Promise<void>((resolve) => (done = resolve));
  socket.once('drain', done);
  socket.once('close', done);
  return Promise.race([drain, connection.outcome]).finally(() => {
    socket.off('drain', done);
    socket.off('close', done);
  });
}

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === 'string') return Buffer.from(data);
  throw new TypeError(`the stream to scan must yield bytes, got ${typeof data}`);
}
