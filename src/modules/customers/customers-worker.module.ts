import { Module } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { CustomerImportJobService } from './customer-import-job.service';
import { CustomerImportProcessor } from './customer-import.processor';
import { CustomerImportRepository } from './customer-import.repository';
import { CustomerStatsCache } from './customer-stats.cache';

/** Worker side of customers: the `customers` queue processor (CSV imports, audited on completion). */
@Module({
  providers: [
    AuditService,
    CustomerImportRepository,
    CustomerImportJobService,
    CustomerStatsCache,
    CustomerImportProcessor,
  ],
})
export class CustomersWorkerModule {}
