import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  messageId: string;
  subject: string;
  raw: string;
}

/**
 * A real SMTP server on a free loopback port that keeps every message it receives, and can hold the next
 * mail transaction for as long as the test wants — e.g. to kill the worker right there:
 * - at RCPT TO (`holdNextRecipient`): the sender is connected and has started the envelope, nothing is
 *   accepted yet;
 * - after the message's final dot (`holdNextData`): the server has the whole message and keeps it (like an
 *   MTA that queued it), but has not answered 250 yet — the window where SMTP cannot tell the sender.
 */
export class HoldingSmtpServer {
  readonly messages: ReceivedMail[] = [];
  private holdNext: 'rcpt' | 'data' | undefined;
  private held: (() => void) | undefined;
  private heldSignal: (() => void) | undefined;

  private constructor(private readonly server: SMTPServer) {}

  static async start(): Promise<HoldingSmtpServer> {
    // The server's hooks need the instance, which needs the server: filled in right below.
    const ref: { current?: HoldingSmtpServer } = {};
    const server = new SMTPServer({
      secure: false,
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      closeTimeout: 500,
      onRcptTo: (_address, _session, callback) => ref.current!.onRcptTo(callback),
      onData: (stream: SMTPServerDataStream, session, callback: (error?: Error | null) => void) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', (error: Error) => callback(error));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          ref.current!.messages.push({
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            messageId: /^Message-ID:\s*(.+)$/im.exec(raw)?.[1].trim() ?? '',
            subject: /^Subject:\s*(.+)$/im.exec(raw)?.[1].trim() ?? '',
            raw,
          });
          ref.current!.afterData(callback);
        });
      },
    });
    const self = new HoldingSmtpServer(server);
    ref.current = self;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.on('error', () => undefined);
    return self;
  }

  get url(): string {
    return `smtp://127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
  }

  /** Holds the next RCPT TO; resolves once a sender is waiting there. */
  holdNextRecipient(timeoutMs = 20_000): Promise<void> {
    return this.holdNextAt('rcpt', timeoutMs);
  }

  /** Keeps the next message but holds its 250; resolves once it is received. */
  holdNextData(timeoutMs = 20_000): Promise<void> {
    return this.holdNextAt('data', timeoutMs);
  }

  private holdNextAt(stage: 'rcpt' | 'data', timeoutMs: number): Promise<void> {
    this.holdNext = stage;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no mail reached ${stage} within ${timeoutMs} ms`)), timeoutMs);
      this.heldSignal = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Lets a held RCPT TO through (its sender may be gone by then). */
  release(): void {
    const held = this.held;
    this.held = undefined;
    try {
      held?.();
    } catch {
      // The connection closed meanwhile.
    }
  }

  async close(): Promise<void> {
    this.release();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRcptTo(callback: (error?: Error | null) => void): void {
    this.maybeHold('rcpt', callback);
  }

  private afterData(callback: (error?: Error | null) => void): void {
    this.maybeHold('data', callback);
  }

  private maybeHold(stage: 'rcpt' | 'data', callback: (error?: Error | null) => void): void {
    if (this.holdNext !== stage) {
      callback();
      return;
    }
    this.holdNext = undefined;
    this.held = () => callback();
    this.heldSignal?.();
  }
}
