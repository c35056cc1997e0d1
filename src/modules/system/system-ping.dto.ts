import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import type { SystemPing, SystemPingStatus } from './system-ping.entity';

export class PingIdParams {
  @IsUUID()
  id: string;
}

export class CreatePingDto {
  /**
   * Simulated work: the worker holds the job this long before completing it, to observe draining on shutdown.
   * @example 0
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10000)
  holdMs?: number;
}

export class SystemPingDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  id: string;
  /** queued until the worker has handled it */
  @ApiProperty({ enum: ['queued', 'processed'] satisfies SystemPingStatus[] })
  status: SystemPingStatus;
  /** Request id the worker saw with the job (equals the enqueuing request's X-Request-Id) */
  requestId: string | null;
  createdAt: Date;
  processedAt: Date | null;
  /** host:pid of the worker process */
  processedBy: string | null;

  static from(ping: SystemPing): SystemPingDto {
    const { id, status, requestId, createdAt, processedAt, processedBy } = ping;
    return Object.assign(new SystemPingDto(), { id, status, requestId, createdAt, processedAt, processedBy });
  }
}
