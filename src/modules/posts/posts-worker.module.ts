import { Module } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { PostPartitionsService } from './post-partitions.service';
import { PostPublisher } from './post-publisher';
import { PostSweepScheduler } from './post-sweep.scheduler';
import { PostSweepService } from './post-sweep.service';
import { PostsProcessor } from './posts.processor';
import { PublicPostsCache } from './public-posts.cache';

/** Worker side of posts: scheduled publishing, the overdue sweep and partition upkeep on the `posts` queue. */
@Module({
  providers: [
    AuditService,
    PublicPostsCache,
    PostPublisher,
    PostSweepService,
    PostPartitionsService,
    PostsProcessor,
    PostSweepScheduler,
  ],
})
export class PostsWorkerModule {}
