import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import sharp from 'sharp';
import { AppConfig } from '../../config/app.config';
import { ObjectStorage } from '../../core/storage/object-storage';
import type { Media, Rendition } from './media.entity';

/** Decoding stops above this many pixels (a decompression bomb in image form). */
const MAX_INPUT_PIXELS = 100_000_000;

export interface RenditionResult {
  width: number;
  height: number;
  variants: { thumb: Rendition; web: Rendition };
}

/**
 * Thumb and web-size WebP renditions of an image. sharp writes no metadata unless asked, so renditions carry
 * no EXIF (GPS) whatever the original had; the stored original was already stripped on the way in.
 */
@Injectable()
export class MediaRenditions {
  constructor(
    private readonly storage: ObjectStorage,
    private readonly config: AppConfig,
  ) {}

  async derive(media: Pick<Media, 'objectKey'>): Promise<RenditionResult> {
    const source = sharp({ failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS });
    const sized = (size: number) =>
      source
        .clone()
        .rotate()
        .resize(size, size, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 80 })
        .toBuffer({ resolveWithObject: true });
    const work = Promise.all([
      source.clone().metadata(),
      sized(this.config.media.thumbSize),
      sized(this.config.media.webSize),
    ]);
    (await this.storage.get(media.objectKey)).pipe(source);
    const [metadata, thumb, web] = await work;
    const variants = {
      thumb: await this.store(`${media.objectKey}-thumb`, thumb),
      web: await this.store(`${media.objectKey}-web`, web),
    };
    return { width: metadata.width ?? web.info.width, height: metadata.height ?? web.info.height, variants };
  }

  private async store(key: string, output: { data: Buffer; info: sharp.OutputInfo }): Promise<Rendition> {
    await this.storage.put(key, Readable.from([output.data]), 'image/webp');
    return { key, width: output.info.width, height: output.info.height, size: output.data.length };
  }
}
