import { Module } from '@nestjs/common';
import { JobOutboxRelay } from './job-outbox.relay';

/** Worker app only: relays outbox jobs the API could not hand to Redis (queues and repository come from QueueModule). */
@Module({ providers: [JobOutboxRelay] })
export class JobOutboxRelayModule {}
