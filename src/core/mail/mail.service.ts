import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import type { MailMessage } from './mail-message';
import { MAIL_TRANSPORT, type MailTransport } from './mail.transport';

/** Worker side: hands one mail to the transport. The API queues mails through MailQueue instead. */
@Injectable()
export class MailService implements OnModuleDestroy {
  constructor(
    @Inject(MAIL_TRANSPORT) private readonly transport: MailTransport,
    private readonly config: AppConfig,
  ) {}

  /**
   * Rejects when the transport does; the caller (a queue job) retries. `deliveryKey` (stable across retries of
   * one job) becomes the Message-ID: SMTP has no way to take back a mail, so a worker that dies after the
   * server accepted it but before the job completed sends it again on retry — with the same Message-ID,
   * by which mail stores recognise the duplicate.
   */
  async send({ to, subject, text, html }: MailMessage, deliveryKey?: string): Promise<void> {
    const messageId = deliveryKey ? `<${deliveryKey}@${senderDomain(this.config.mail.from)}>` : undefined;
    // Only the known fields: whatever else a job payload carries never reaches nodemailer.
    await this.transport.sendMail({ from: this.config.mail.from, to, subject, text, html, messageId });
  }

  onModuleDestroy(): void {
    this.transport.close();
  }
}

/** `Atrium <no-reply@atrium.local>` → `atrium.local`. */
function senderDomain(from: string): string {
  const match = /@([^>\s]+)>?\s*$/.exec(from);
  return match ? match[1] : 'atrium.local';
}
