import { Global, Module, type DynamicModule } from '@nestjs/common';
import { AppConfig } from './app.config';

/** Makes the validated AppConfig injectable everywhere; the entry points build it before Nest starts. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] };
  }
}
