import { ApiProperty } from '@nestjs/swagger';
import { CUSTOMER_STATUSES, type CustomerStatus } from './customer.entity';

export class CustomerOwnerCountDto {
  /** The owner; null counts customers without one. */
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  ownerId: string | null;
  @ApiProperty({ type: 'integer' })
  count: number;
}

export class CustomerWeekCountDto {
  /**
   * Monday (UTC) starting the ISO week
   * @example 2025-11-24
   */
  week: string;
  @ApiProperty({ type: 'integer' })
  count: number;
}

/** Aggregates over the live customers the caller may read (customers:read scope). */
export class CustomerStatsDto {
  @ApiProperty({
    type: 'object',
    properties: Object.fromEntries(CUSTOMER_STATUSES.map((status) => [status, { type: 'integer' }])),
    required: [...CUSTOMER_STATUSES],
    example: { lead: 12, prospect: 5, active: 30, churned: 2 },
  })
  byStatus: Record<CustomerStatus, number>;

  /** Most customers first. */
  @ApiProperty({ type: [CustomerOwnerCountDto] })
  byOwner: CustomerOwnerCountDto[];

  /** The last 12 weeks, oldest first, the current (partial) week last; weeks without customers count 0. */
  @ApiProperty({ type: [CustomerWeekCountDto] })
  createdPerWeek: CustomerWeekCountDto[];
}
