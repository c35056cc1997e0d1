import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Customer } from './customer.entity';
import { CustomerSearchService } from './customer-search.service';
import { CustomersController } from './customers.controller';
import { CustomersRepository } from './customers.repository';
import { CustomersService } from './customers.service';

/** Customers (CRM core). Exports the service and repository for the customer sub-features (timeline, stats, import). */
@Module({
  imports: [TypeOrmModule.forFeature([Customer])],
  controllers: [CustomersController],
  providers: [CustomersRepository, CustomerSearchService, CustomersService],
  exports: [CustomersRepository, CustomersService],
})
export class CustomersModule {}
