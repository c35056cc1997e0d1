import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MediaCatalog } from './media-catalog';
import { Media } from './media.entity';

/** MediaCatalog alone, for modules the media module itself depends on (posts). */
@Module({
  imports: [TypeOrmModule.forFeature([Media])],
  providers: [MediaCatalog],
  exports: [MediaCatalog],
})
export class MediaCatalogModule {}
