import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, IsUUID, Length, MaxLength } from 'class-validator';
import { trim } from '../../core/http/transforms';
import { CUSTOMER_STATUSES, type CustomerStatus } from './customer.entity';

// `?status=a&status=b` arrives as an array, `?status=a,b` as one string: both mean the same filter.
const commaList = ({ value }: { value: unknown }): unknown =>
  (Array.isArray(value) ? value : [value]).flatMap((item: unknown) =>
    typeof item === 'string' ? item.split(',').map((part) => part.trim()) : [item],
  );

const asArray = ({ value }: { value: unknown }): unknown => (Array.isArray(value) ? value : [value]);

/** Filters of GET /customers/export; they combine with AND. */
export class ExportCustomersQueryDto {
  @ApiPropertyOptional({
    enum: CUSTOMER_STATUSES,
    isArray: true,
    description: 'Only customers with one of these statuses; repeat the parameter or separate with commas.',
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(CUSTOMER_STATUSES.length)
  @IsIn(CUSTOMER_STATUSES, { each: true })
  status?: CustomerStatus[];

  /** Only customers owned by this user. */
  @IsOptional()
  @IsUUID()
  ownerId?: string;

  /** Only customers in this department or any department below it. */
  @IsOptional()
  @IsUUID()
  departmentId?: string;

  @ApiPropertyOptional({
    type: [String],
    description: 'Only customers carrying every one of these tags; repeat the parameter for several.',
  })
  @IsOptional()
  @Transform(asArray)
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  tag?: string[];

  /** Case-insensitive substring of name, email, company or phone; `%` and `_` match themselves. */
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  q?: string;
}
