import { Global, Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app.config';
import { dataSourceOptions } from './data-source.options';
import { markUnavailableDatabase } from './database-unavailable';
import { drainBeforeDestroy } from './drain-before-destroy';
import { MIGRATE_ON_START, Migrator } from './migrator';
import { TransactionRunner } from './transaction.runner';

@Global()
@Module({})
export class DatabaseModule {
  /**
   * `applicationName` shows in pg_stat_activity, so API and worker connections can be told apart.
   * Only the API migrates on start (DB_MIGRATE_ON_START); the worker waits for a migrated schema.
   */
  static forRoot(applicationName: string, options: { migrateOnStart: boolean }): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            ...dataSourceOptions(config, applicationName),
            autoLoadEntities: true,
            retryAttempts: 5,
            retryDelay: 2000,
          }),
          // A failed connection checkout later on becomes DatabaseUnavailableError (503, not 500); closing waits
          // for the queries still running (drain-before-destroy.ts).
          dataSourceFactory: async (options) =>
            drainBeforeDestroy(markUnavailableDatabase(await new DataSource(options!).initialize())),
        }),
      ],
      providers: [TransactionRunner, Migrator, { provide: MIGRATE_ON_START, useValue: options.migrateOnStart }],
      exports: [TransactionRunner, Migrator],
    };
  }
}
