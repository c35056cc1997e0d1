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

  /** Rejects when the transport does; the caller (a queue job) retries. */
  async send({ to, subject, text, html }: MailMessage): Promise<void> {
    // Only the known fields: whatever else a job payload carries never reaches nodemailer.
    await this.transport.sendMail({ from: this.config.mail.from, to, subject, text, html });
  }

  onModuleDestroy(): void {
    this.transport.close();
  }
}
