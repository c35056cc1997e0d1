import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MediaCatalogModule } from '../media/media-catalog.module';
import { PostCovers } from './post-covers';
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
  imports: [TypeOrmModule.forFeature([Post]), PostSchedulingModule, MediaCatalogModule],
  controllers: [PostsController, PublicPostsController],
  providers: [PostsRepository, PostsService, PublicPostsCache, PublicPostsService, PostCovers],
  exports: [PostsService, PostsRepository, PublicPostsCache, PostCovers],
})
export class PostsModule {}
