import { Module } from '@nestjs/common';
import { CustomerActivityController } from './customer-activity.controller';
import { CustomerActivityRepository } from './customer-activity.repository';
import { CustomerActivityService } from './customer-activity.service';
import { CustomerExportController } from './customer-export.controller';
import { CustomerExportRepository } from './customer-export.repository';
import { CustomerExportService } from './customer-export.service';
import { CustomerImportController } from './customer-import.controller';
import { CustomerImportRepository } from './customer-import.repository';
import { CustomerImportService } from './customer-import.service';
import { CustomerStatsCache } from './customer-stats.cache';
import { CustomerStatsController } from './customer-stats.controller';
import { CustomerStatsRepository } from './customer-stats.repository';
import { CustomerStatsService } from './customer-stats.service';

/**
 * API side of the customer timeline, stats, CSV import and export (the CRUD lives in CustomersModule).
 * CustomerStatsCache evicts itself on the customers.changed event the CRUD service emits after each commit.
 */
@Module({
  controllers: [
    CustomerStatsController,
    CustomerExportController,
    CustomerImportController,
    CustomerActivityController,
  ],
  providers: [
    CustomerActivityRepository,
    CustomerActivityService,
    CustomerStatsCache,
    CustomerStatsRepository,
    CustomerStatsService,
    CustomerImportRepository,
    CustomerImportService,
    CustomerExportRepository,
    CustomerExportService,
  ],
  exports: [CustomerStatsCache],
})
export class CustomersExtrasModule {}
