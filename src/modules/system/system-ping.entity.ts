import { Column, Entity, PrimaryColumn } from 'typeorm';

export type SystemPingStatus = 'queued' | 'processed';

/** A round trip API -> queue -> worker, recorded so operators (and tests) can see the worker works. */
@Entity('system_pings')
export class SystemPing {
  @PrimaryColumn('uuid')
  id: string;

  /** The organization that sent it; only its members can read it (null: made before pings had owners). */
  @Column('uuid', { nullable: true })
  organizationId: string | null;

  @Column('text')
  status: SystemPingStatus;

  /** X-Request-Id of the request that enqueued the ping, as the worker received it with the job. */
  @Column('text', { nullable: true })
  requestId: string | null;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  processedAt: Date | null;

  /** host:pid of the worker process that handled it. */
  @Column('text', { nullable: true })
  processedBy: string | null;
}
