import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Post } from './post.entity';
import { PostSchedulingModule } from './post-scheduling.module';
import { PostsController } from './posts.controller';
import { PostsRepository } from './posts.repository';
import { PostsService } from './posts.service';
import { PublicPostsCache } from './public-posts.cache';
import { PublicPostsController } from './public-posts.controller';
import { PublicPostsService } from './public-posts.service';

/** Posts (CMS): the authenticated API, the public read API, and scheduling through PostSchedulingModule. */
@Module({
  imports: [TypeOrmModule.forFeature([Post]), PostSchedulingModule],
  controllers: [PostsController, PublicPostsController],
  providers: [PostsRepository, PostsService, PublicPostsCache, PublicPostsService],
  exports: [PostsService, PostsRepository, PublicPostsCache],
})
export class PostsModule {}
