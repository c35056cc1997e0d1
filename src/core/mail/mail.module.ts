import { Global, Module } from '@nestjs/common';
import { MailQueue } from './mail.queue';

/** API side, global: any module injects MailQueue to send a mail; the worker delivers it. */
@Global()
@Module({
  providers: [MailQueue],
  exports: [MailQueue],
})
export class MailModule {}
