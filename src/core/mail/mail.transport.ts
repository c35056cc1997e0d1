import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  createTransport,
  type MailMessage as NodemailerMessage,
  type SentMessageInfo,
  type Transport,
  type Transporter,
} from 'nodemailer';
import type { AppConfig } from '../../config/app.config';

/** The nodemailer transporter the worker sends with: SMTP, or the development outbox. */
export type MailTransport = Transporter;

export const MAIL_TRANSPORT = Symbol('MAIL_TRANSPORT');

/**
 * Timeouts well below nodemailer's defaults (2 min connect, 10 min idle): a stuck server must fail the
 * attempt while the job's lock is still held, so BullMQ retries it instead of declaring it stalled.
 * Query parameters of SMTP_URL (e.g. `?connectionTimeout=30000&pool=true`) still win.
 */
const SMTP_DEFAULTS = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 30_000,
  dnsTimeout: 10_000,
};

// Messages are built from plain strings only; a tampered job payload must not make nodemailer read local
// files or fetch URLs as attachments.
const CONTENT_ACCESS = { disableFileAccess: true, disableUrlAccess: true };

export function createMailTransport(mail: AppConfig['mail']): MailTransport {
  if (mail.smtpUrl) return createTransport({ ...SMTP_DEFAULTS, ...CONTENT_ACCESS, url: mail.smtpUrl });
  return createTransport(new OutboxTransport(resolve(mail.outboxDir)), CONTENT_ACCESS);
}

type SendCallback = Parameters<Transport['send']>[1];

/**
 * Development transport (SMTP_URL unset): each mail becomes an `.eml` file in the outbox folder, which any
 * mail client opens. The log line names recipient and subject only; the body holds one-time codes.
 */
export class OutboxTransport implements Transport {
  readonly name = 'atrium-outbox';
  readonly version = '1';
  private readonly logger = new Logger('MailOutbox');

  constructor(private readonly dir: string) {}

  send(mail: NodemailerMessage, callback: SendCallback): void {
    this.write(mail).then(
      (info) => callback(null, info),
      (error: Error) => callback(error),
    );
  }

  private async write(mail: NodemailerMessage): Promise<SentMessageInfo> {
    const raw = await mail.message.build();
    await mkdir(this.dir, { recursive: true });
    // Timestamp first: `ls` lists the outbox in sending order.
    const file = join(this.dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.eml`);
    await writeFile(file, raw, { flag: 'wx' });
    const envelope = mail.message.getEnvelope();
    this.logger.log(`mail to ${envelope.to.join(', ')} "${mail.data.subject ?? ''}" written to ${file}`);
    return { envelope, messageId: mail.message.messageId(), accepted: envelope.to, rejected: [], path: file };
  }
}
