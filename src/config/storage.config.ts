import { bool, int, oneOf, optionalStr, str, url } from './env-var';

export const DEV_STORAGE_SIGNING_SECRET = 'dev-only-storage-signing-secret-change-me';

export const storageEnv = {
  STORAGE_DRIVER: oneOf(['local', 'minio'] as const, {
    default: 'local',
    description: 'Where media objects live: local = a folder on this machine (development), minio = S3/MinIO',
  }),
  STORAGE_LOCAL_DIR: str({
    default: 'var/storage',
    description: 'Folder of the local storage driver (API and worker must see the same folder)',
  }),
  STORAGE_LOCAL_PUBLIC_URL: url({
    default: 'http://localhost:3000',
    protocols: ['http', 'https'],
    description: 'Base URL of this API as clients reach it; the local driver signs download/upload links under it',
  }),
  STORAGE_SIGNING_SECRET: str({
    default: DEV_STORAGE_SIGNING_SECRET,
    secret: true,
    minLength: 16,
    description: 'HMAC secret of the local driver’s signed links (the MinIO driver uses S3 presigning instead)',
  }),
  MINIO_ENDPOINT: str({ default: '127.0.0.1', description: 'MinIO/S3 host name the API and worker connect to' }),
  MINIO_PORT: int({ default: '9000', min: 1, max: 65535, description: 'MinIO/S3 port' }),
  MINIO_USE_SSL: bool({ default: 'false', description: 'Connect to MinIO/S3 over TLS' }),
  MINIO_ACCESS_KEY: str({ default: 'minioadmin', description: 'MinIO/S3 access key' }),
  MINIO_SECRET_KEY: str({ default: 'minioadmin', secret: true, description: 'MinIO/S3 secret key' }),
  MINIO_BUCKET: str({
    default: 'atrium',
    pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    patternHint: 'an S3 bucket name (3-63 lower-case letters, digits, dots, dashes)',
    description: 'Bucket of all media objects; created at start when missing',
  }),
  MINIO_REGION: str({ default: 'us-east-1', description: 'Region of the bucket (signatures include it)' }),
  MINIO_PUBLIC_URL: optionalStr({
    description:
      'Base URL clients reach MinIO/S3 at, when it differs from MINIO_ENDPOINT (presigned URLs are signed for it); unset = the endpoint itself',
  }),
  MINIO_PART_SIZE_MB: int({
    default: '8',
    min: 5,
    max: 512,
    description: 'Multipart part size of streamed uploads; bounds the memory an upload holds at once',
  }),
};
