import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SystemPing } from './system-ping.entity';
import { SystemProcessor } from './system.processor';
import { SystemService } from './system.service';

/** The worker side of the system feature: its processor, without the HTTP controller. */
@Module({
  imports: [TypeOrmModule.forFeature([SystemPing])],
  providers: [SystemService, SystemProcessor],
})
export class SystemWorkerModule {}
