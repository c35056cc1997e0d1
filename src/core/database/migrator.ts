import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app.config';

export const MIGRATE_ON_START = Symbol('MIGRATE_ON_START');

// Any constant works; it only has to be the same for every Atrium process sharing the database.
const MIGRATION_LOCK_KEY = 74_118_001;

/**
 * Applies pending migrations when the API starts (DB_MIGRATE_ON_START). A session advisory lock makes
 * several API instances starting at once apply them one after another instead of racing.
 */
@Injectable()
export class Migrator implements OnModuleInit {
  private readonly logger = new Logger(Migrator.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    @Inject(MIGRATE_ON_START) private readonly isMigratingProcess: boolean,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.isMigratingProcess && this.config.db.migrateOnStart) await this.migrate();
  }

  async migrate(): Promise<string[]> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const applied = await this.dataSource.runMigrations({ transaction: 'each' });
      if (applied.length) this.logger.log(`applied migrations: ${applied.map((m) => m.name).join(', ')}`);
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
      await runner.release();
    }
  }
}
