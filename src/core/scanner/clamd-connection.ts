import { connect, type Socket } from 'node:net';
import { quote } from './clamav-reply';

/** Where clamd listens: a unix socket when `socket` is set, else TCP `host:port`. */
export interface ClamdAddress {
  host?: string;
  port: number;
  socket?: string;
}

/** clamd's first NUL-terminated reply, or why none came. */
export type ClamdOutcome = { reply: string } | { failure: string; code?: string };

/** Every clamd reply is one short line; more than this without a terminator is not clamd talking. */
const MAX_REPLY_BYTES = 4096;

/**
 * One connection to clamd for one command (`z`-prefixed, so replies end in NUL). `outcome` settles with the
 * first reply or with the connection's failure, whichever comes first, and never rejects.
 */
export class ClamdConnection {
  readonly socket: Socket;
  readonly outcome: Promise<ClamdOutcome>;
  private settled: ClamdOutcome | undefined;

  constructor(address: ClamdAddress) {
    this.socket = address.socket
      ? connect({ path: address.socket })
      : connect({ host: address.host ?? '127.0.0.1', port: address.port });
    this.outcome = new Promise((resolve) => {
      const settle = (outcome: ClamdOutcome): void => {
        if (this.settled) return;
        this.settled = outcome;
        resolve(outcome);
      };
      let connected = false;
      let received = Buffer.alloc(0);
      this.socket.on('connect', () => (connected = true));
      this.socket.on('data', (data: Buffer) => {
        received = Buffer.concat([received, data]);
        const end = received.indexOf(0);
        if (end >= 0) settle({ reply: received.subarray(0, end).toString('utf8') });
        else if (received.length > MAX_REPLY_BYTES)
          settle({ failure: `unexpected reply from clamd: ${quote(received.toString('utf8'))}` });
      });
      this.socket.on('error', (error: NodeJS.ErrnoException) =>
        settle({
          failure: connected
            ? `connection to clamd failed (${error.message})`
            : `cannot reach clamd (${error.message})`,
          code: error.code,
        }),
      );
      this.socket.on('close', () =>
        settle({
          failure:
            received.length > 0
              ? `clamd closed the connection mid-reply: ${quote(received.toString('utf8'))}`
              : 'clamd closed the connection without a reply',
        }),
      );
    });
  }

  /** Whether `outcome` has settled: the reply is in, or there will be none. */
  get answered(): boolean {
    return this.settled !== undefined;
  }

  close(): void {
    this.socket.destroy();
  }
}
