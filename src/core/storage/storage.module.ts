import { Global, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { LocalDiskStorage } from './local-disk.storage';
import { MinioStorage } from './minio.storage';
import { ObjectStorage } from './object-storage';

/** How long start-up waits for the store (an unreachable host would otherwise hang on TCP timeouts). */
const READY_TIMEOUT_MS = 15_000;

export function createObjectStorage(config: AppConfig['storage']): ObjectStorage {
  switch (config.driver) {
    case 'local':
      return new LocalDiskStorage(config);
    case 'minio':
      return new MinioStorage(config.minio);
  }
}

function describeStore(config: AppConfig['storage']): string {
  const { minio } = config;
  return config.driver === 'local'
    ? `local folder ${config.localDir} (STORAGE_LOCAL_DIR)`
    : `MinIO/S3 bucket ${minio.bucket} at ${minio.useSSL ? 'https' : 'http'}://${minio.endPoint}:${minio.port} (MINIO_*)`;
}

/**
 * The object store, chosen by STORAGE_DRIVER, for API and worker alike. Start-up fails when the store cannot
 * be reached or its bucket/folder cannot be created, rather than the first upload failing later.
 */
@Global()
@Module({
  providers: [
    {
      provide: ObjectStorage,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => createObjectStorage(config.storage),
    },
  ],
  exports: [ObjectStorage],
})
export class StorageModule implements OnModuleInit {
  private readonly logger = new Logger('Storage');

  constructor(
    private readonly storage: ObjectStorage,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const store = describeStore(this.config.storage);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.storage.ensureReady(), timeout]);
    } catch (error) {
      throw new Error(`Object storage is not usable: ${store}: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    this.logger.log(`Object storage ready: ${store}`);
  }
}
