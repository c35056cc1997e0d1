import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { ClamavScanner } from './clamav.scanner';
import { VIRUS_SCANNER, type VirusScanner } from './virus-scanner';

/**
 * Provides VIRUS_SCANNER: a ClamavScanner when clamd is configured, `null` when scanning is off. A token
 * that may hold null (rather than an optional VirusScanner provider) makes every consumer state what "off"
 * means for it, e.g. media marked `skipped`, instead of finding out through a missing dependency.
 */
@Global()
@Module({
  providers: [
    {
      provide: VIRUS_SCANNER,
      inject: [AppConfig],
      useFactory: (config: AppConfig): VirusScanner | null =>
        config.scanner ? new ClamavScanner(config.scanner) : null,
    },
  ],
  exports: [VIRUS_SCANNER],
})
export class ScannerModule {}
