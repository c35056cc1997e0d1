import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app.config';

/** Upkeep of the quarterly posts partitions through the migration's posts_ensure_partitions(). */
@Injectable()
export class PostPartitionsService {
  private readonly logger = new Logger(PostPartitionsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async maintain(): Promise<{ created: number }> {
    const created = await this.dataSource.transaction(async (manager) => {
      // Several workers may run the job at once; CREATE TABLE of the same quarter would fail in all but one.
      await manager.query("SELECT pg_advisory_xact_lock(hashtextextended('atrium:posts-partitions', 0))");
      const [row] = await manager.query<{ created: number }[]>('SELECT posts_ensure_partitions($1) AS created', [
        this.config.posts.partitionsAheadQuarters,
      ]);
      return row.created;
    });
    this.logger.log(`posts partitions: ${created} created`);
    return { created };
  }
}
