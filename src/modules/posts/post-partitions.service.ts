import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app.config';

/**
 * Upkeep of the quarterly posts partitions through the migration's posts_ensure_partitions(). posts has no
 * default partition (migration 1765080000000: it kept post lists from an ordered scan of the newest
 * partitions), so the quarter of a new post must exist: the migration, every worker start and the scheduled
 * job create POSTS_PARTITIONS_AHEAD_QUARTERS ahead.
 */
@Injectable()
export class PostPartitionsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(PostPartitionsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** Not awaited by the start: a database still unreachable then is retried by the scheduled job. */
  onApplicationBootstrap(): void {
    void this.maintain().catch((error: unknown) => {
      this.logger.error(`could not create the posts partitions ahead at start: ${String(error)}`);
    });
  }

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
