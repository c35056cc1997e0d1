import { Global, Module, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { CursorCodec } from './cursor.codec';
import { activatePageLimits, PageLimits } from './page-limits';
import { Paginator } from './paginator';

/** Cursor pagination for every list: the cursor codec, the configured limits and the Paginator. */
@Global()
@Module({
  providers: [
    { provide: PageLimits, useFactory: (config: AppConfig) => PageLimits.fromConfig(config), inject: [AppConfig] },
    CursorCodec,
    Paginator,
  ],
  exports: [PageLimits, CursorCodec, Paginator],
})
export class PaginationModule implements OnModuleInit {
  constructor(private readonly limits: PageLimits) {}

  onModuleInit(): void {
    // PageQueryDto's limit check runs in class-validator, outside the injector; give it the configured max.
    activatePageLimits(this.limits);
  }
}
