import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsOptional, IsString, IsUUID, Length } from 'class-validator';
import { MEDIA_TYPES, type MediaType } from '../../core/files/media-types';
import { commaList, trim } from '../../core/http/transforms';
import { PageQueryDto } from '../../core/pagination/page-query.dto';
import { MEDIA_VARIANTS, SCAN_STATUSES, type Media, type MediaVariant, type ScanStatus } from './media.entity';

export class RenditionDto {
  @ApiProperty({ type: 'integer', example: 320 })
  width: number;
  @ApiProperty({ type: 'integer', example: 213 })
  height: number;
  /** Bytes. */
  @ApiProperty({ type: 'integer', example: 18342 })
  size: number;
}

export class MediaVariantsDto {
  /** Thumbnail (WebP, EXIF-free); absent until the worker made it. */
  @ApiPropertyOptional({ type: RenditionDto })
  thumb?: RenditionDto;
  /** Web-size rendition (WebP, EXIF-free); absent until the worker made it. */
  @ApiPropertyOptional({ type: RenditionDto })
  web?: RenditionDto;
}

/** A media file as members of its organization see it (never its storage key). */
export class MediaDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  id: string;
  /** Sanitized original file name. @example quarterly-report.pdf */
  filename: string;
  /** Detected from the bytes, not from the name. */
  @ApiProperty({ enum: MEDIA_TYPES })
  type: MediaType;
  /** @example application/pdf */
  mimeType: string;
  /** Bytes. */
  @ApiProperty({ type: 'integer', example: 482113 })
  size: number;
  /** SHA-256 of the stored bytes (hex). */
  @ApiProperty({ example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' })
  sha256: string;
  /**
   * pending: waiting for the virus scan (not downloadable yet); clean or skipped (scanning off):
   * downloadable; infected or failed (the scanner did not say OK): quarantined, never downloadable.
   */
  @ApiProperty({ enum: SCAN_STATUSES })
  scanStatus: ScanStatus;
  /** Whether GET /media/:id/url serves it now. */
  usable: boolean;
  /** Images only, once the worker read them. */
  @ApiProperty({ type: 'integer', nullable: true, example: 1920 })
  width: number | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 1280 })
  height: number | null;
  variants: MediaVariantsDto;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  uploadedBy: string | null;
  /** Null for organization-level media (visible only with organization-wide grants). */
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  departmentId: string | null;
  createdAt: Date;
  updatedAt: Date;

  static from(media: Media): MediaDto {
    const variants: MediaVariantsDto = {};
    for (const name of ['thumb', 'web'] as const) {
      const rendition = media.variants[name];
      if (rendition) variants[name] = { width: rendition.width, height: rendition.height, size: rendition.size };
    }
    return Object.assign(new MediaDto(), {
      id: media.id,
      filename: media.filename,
      type: media.type,
      mimeType: media.mimeType,
      size: media.size,
      sha256: media.sha256,
      scanStatus: media.scanStatus,
      usable: media.scanStatus === 'clean' || media.scanStatus === 'skipped',
      width: media.width,
      height: media.height,
      variants,
      uploadedBy: media.uploadedBy,
      departmentId: media.departmentId,
      createdAt: media.createdAt,
      updatedAt: media.updatedAt,
    });
  }
}

export class ListMediaQueryDto extends PageQueryDto {
  /** Only these types; repeat the parameter or separate with commas. */
  @ApiPropertyOptional({ enum: MEDIA_TYPES, isArray: true, example: ['jpg', 'png'] })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(MEDIA_TYPES.length)
  @IsIn(MEDIA_TYPES, { each: true })
  type?: MediaType[];

  /** Only media uploaded by this user. */
  @IsOptional()
  @IsUUID()
  uploadedBy?: string;

  /** Only media in this department or any department below it (never widens the caller's read scope). */
  @IsOptional()
  @IsUUID()
  departmentId?: string;

  /** Only media with one of these scan states; repeat the parameter or separate with commas. */
  @ApiPropertyOptional({ enum: SCAN_STATUSES, isArray: true, example: ['clean'] })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(SCAN_STATUSES.length)
  @IsIn(SCAN_STATUSES, { each: true })
  scanStatus?: ScanStatus[];
}

export class MediaIdParams {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  @IsUUID()
  id: string;
}

export class UploadMediaQueryDto {
  /** The department the media belongs to (needs media:create there); omitted: organization-level. */
  @IsOptional()
  @IsUUID()
  departmentId?: string;
}

/** Documents the multipart body of POST /media (the handler streams it; it is never parsed as JSON). */
export class UploadMediaBodyDto {
  /**
   * The file (one part, named `file`). Its type is detected from its bytes (jpg, png, gif, pdf, docx, xlsx,
   * mp4); the file name's extension and the part's Content-Type, when given, must agree with it.
   */
  @ApiProperty({ type: 'string', format: 'binary' })
  file: unknown;
}

export class MediaUrlQueryDto {
  /** original: the stored file; thumb / web: EXIF-free WebP renditions of images. */
  @ApiPropertyOptional({ enum: MEDIA_VARIANTS, default: 'original' })
  @IsOptional()
  @IsIn(MEDIA_VARIANTS)
  variant?: MediaVariant;
}

export class MediaUrlDto {
  /** A presigned URL; anyone holding it can download until expiresAt. */
  url: string;
  expiresAt: Date;
  @ApiProperty({ enum: MEDIA_VARIANTS })
  variant: MediaVariant;
  /** Content-Disposition the download is served with (inline for images, attachment otherwise). */
  contentDisposition: string;
}

export class DeleteMediaQueryDto {
  /** Delete even if posts use it as their cover; their cover is removed. */
  @ApiPropertyOptional({ type: Boolean, default: false })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  force?: boolean;
}

export class CreateUploadDto {
  /** The file's name; its extension decides the type it must turn out to be, and the size limit. @example scan.pdf */
  @Transform(trim)
  @IsString()
  @Length(1, 255)
  filename: string;

  /** The department the media will belong to (needs media:create there); omitted: organization-level. */
  @IsOptional()
  @IsUUID()
  departmentId?: string;
}

export class UploadPolicyDto {
  /** Complete with POST /media/uploads/:id/complete once the file is uploaded. */
  id: string;
  /** POST a multipart/form-data form here: every field of `fields`, then the file as field `file` (last). */
  url: string;
  /** Form fields to send as they are (they carry the signed policy). */
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  fields: Record<string, string>;
  /** Largest accepted file (bytes); the storage refuses larger ones. */
  @ApiProperty({ type: 'integer' })
  maxBytes: number;
  /** The policy is refused after this. */
  expiresAt: Date;
}
