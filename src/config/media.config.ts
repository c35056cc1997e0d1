import { int } from './env-var';

const MiB = 1024 * 1024;

function maxBytes(type: string, defaultMiB: number) {
  return int({
    default: String(defaultMiB * MiB),
    min: 1,
    max: 4294967295,
    description: `Largest ${type} upload in bytes (413 above it)`,
  });
}

export const mediaEnv = {
  MEDIA_MAX_BYTES_JPG: maxBytes('JPEG', 20),
  MEDIA_MAX_BYTES_PNG: maxBytes('PNG', 20),
  MEDIA_MAX_BYTES_GIF: maxBytes('GIF', 10),
  MEDIA_MAX_BYTES_PDF: maxBytes('PDF', 50),
  MEDIA_MAX_BYTES_DOCX: maxBytes('DOCX', 25),
  MEDIA_MAX_BYTES_XLSX: maxBytes('XLSX', 25),
  MEDIA_MAX_BYTES_MP4: maxBytes('MP4', 512),
  MEDIA_URL_TTL_SECONDS: int({
    default: '300',
    min: 10,
    max: 3600,
    description: 'Lifetime of a presigned download URL (GET /media/:id/url)',
  }),
  MEDIA_UPLOAD_TTL_SECONDS: int({
    default: '300',
    min: 10,
    max: 3600,
    description: 'Lifetime of a presigned upload policy (POST /media/uploads); unfinished uploads expire after it',
  }),
  MEDIA_ZIP_MAX_ENTRIES: int({
    default: '5000',
    min: 10,
    max: 100000,
    description: 'Most entries a docx/xlsx archive may hold (zip bomb guard)',
  }),
  MEDIA_ZIP_MAX_UNCOMPRESSED_BYTES: int({
    default: String(512 * MiB),
    min: MiB,
    max: 4294967295,
    description: 'Largest total uncompressed size of a docx/xlsx archive (zip bomb guard)',
  }),
  MEDIA_ZIP_MAX_RATIO: int({
    default: '200',
    min: 10,
    max: 10000,
    description: 'Largest compression ratio of any docx/xlsx entry (zip bomb guard)',
  }),
  MEDIA_THUMB_SIZE: int({ default: '320', min: 16, max: 2048, description: 'Longest side of image thumbnails (px)' }),
  MEDIA_WEB_SIZE: int({
    default: '1600',
    min: 64,
    max: 8192,
    description: 'Longest side of web-size image renditions (px)',
  }),
};
