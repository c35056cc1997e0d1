import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditService } from '../audit/audit.service';
import { PostCovers } from '../posts/post-covers';
import { PublicPostsCache } from '../posts/public-posts.cache';
import { MediaMaintainScheduler } from './media-maintain.scheduler';
import { MediaProcessingService } from './media-processing.service';
import { MediaRenditions } from './media-renditions';
import { MediaUpload } from './media-upload.entity';
import { Media } from './media.entity';
import { MediaProcessor } from './media.processor';
import { MediaRepository } from './media.repository';

/** Worker side of media: scans, renditions and upkeep on the `media` queue. Needs Storage and Scanner modules. */
@Module({
  imports: [TypeOrmModule.forFeature([Media, MediaUpload])],
  providers: [
    AuditService,
    PublicPostsCache,
    PostCovers,
    MediaRepository,
    MediaRenditions,
    MediaProcessingService,
    MediaProcessor,
    MediaMaintainScheduler,
  ],
})
export class MediaWorkerModule {}
