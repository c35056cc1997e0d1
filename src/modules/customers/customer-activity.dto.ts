import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, Length } from 'class-validator';
import { trim } from '../../core/http/transforms';
import { PageQueryDto } from '../../core/pagination/page-query.dto';

export const CUSTOMER_ACTIVITY_TYPES = ['call', 'email', 'meeting', 'note'] as const;
export type CustomerActivityType = (typeof CUSTOMER_ACTIVITY_TYPES)[number];

/** One entry of a customer's timeline, as stored. */
export interface CustomerActivity {
  id: string;
  customerId: string;
  authorId: string | null;
  type: CustomerActivityType;
  body: string;
  occurredAt: Date;
  createdAt: Date;
}

export class CustomerIdParams {
  @IsUUID()
  id: string;
}

export class ListCustomerActivitiesQueryDto extends PageQueryDto {}

export class CreateCustomerActivityDto {
  @ApiProperty({ enum: CUSTOMER_ACTIVITY_TYPES, example: 'call' })
  @IsIn(CUSTOMER_ACTIVITY_TYPES)
  type: CustomerActivityType;

  /**
   * What happened; 1 to 10,000 characters after trimming.
   * @example Called about the renewal; they want a quote by Friday.
   */
  @Transform(trim)
  @IsString()
  @Length(1, 10000)
  body: string;

  /**
   * When it happened (ISO 8601); now when absent.
   * @example 2025-11-28T14:30:00.000Z
   */
  @IsOptional()
  @IsISO8601({ strict: true })
  occurredAt?: string;
}

export class CustomerActivityDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  id: string;
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c11 */
  customerId: string;
  /** The user who recorded it; null once that user is deleted. */
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  authorId: string | null;
  @ApiProperty({ enum: CUSTOMER_ACTIVITY_TYPES })
  type: CustomerActivityType;
  body: string;
  occurredAt: Date;
  createdAt: Date;

  static from(activity: CustomerActivity): CustomerActivityDto {
    return Object.assign(new CustomerActivityDto(), activity);
  }
}
