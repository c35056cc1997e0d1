import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { MailProcessor } from './mail.processor';
import { MailService } from './mail.service';
import { createMailTransport, MAIL_TRANSPORT } from './mail.transport';

/** Worker side: the transport (SMTP or the development outbox), MailService and the `mail` queue processor. */
@Module({
  providers: [
    {
      provide: MAIL_TRANSPORT,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => createMailTransport(config.mail),
    },
    MailService,
    MailProcessor,
  ],
  exports: [MailService],
})
export class MailWorkerModule {}
