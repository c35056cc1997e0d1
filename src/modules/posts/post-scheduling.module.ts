import { Module } from '@nestjs/common';
import { PostScheduler } from './post-scheduler';
import { PostSchedulingPort } from './post-scheduling.port';

/** Provides PostSchedulingPort to the posts API: delayed publish jobs on the `posts` queue. */
@Module({
  providers: [{ provide: PostSchedulingPort, useClass: PostScheduler }],
  exports: [PostSchedulingPort],
})
export class PostSchedulingModule {}
