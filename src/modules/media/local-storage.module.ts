import { Module } from '@nestjs/common';
import { LocalStorageController } from './local-storage.controller';
import { StorageModule } from '../../core/storage/storage.module';

/** API only: the routes behind the local driver's signed links (they answer 404 under another driver). */
@Module({
  imports: [StorageModule],
  controllers: [LocalStorageController],
})
export class LocalStorageModule {}
