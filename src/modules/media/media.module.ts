import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PostsModule } from '../posts/posts.module';
import { MediaIngest } from './media-ingest';
import { MediaUpload } from './media-upload.entity';
import { MediaController } from './media.controller';
import { Media } from './media.entity';
import { MediaRepository } from './media.repository';
import { MediaService } from './media.service';

/** Media (API side): uploads, direct uploads, listing, downloads, deletion. Needs StorageModule. */
@Module({
  imports: [TypeOrmModule.forFeature([Media, MediaUpload]), PostsModule],
  controllers: [MediaController],
  providers: [MediaRepository, MediaIngest, MediaService],
})
export class MediaModule {}
