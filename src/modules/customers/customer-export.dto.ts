import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { trim } from '../../core/http/transforms';
import { CustomerFiltersDto } from './customer.dto';

const asArray = ({ value }: { value: unknown }): unknown => (Array.isArray(value) ? value : [value]);

/** Filters of GET /customers/export: the shared ones, plus its own `tag` (every one) and `q` (substring). */
export class ExportCustomersQueryDto extends CustomerFiltersDto {
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
