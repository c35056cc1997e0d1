import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ example: 'email', description: 'Path of the offending field (dots for nested fields)' })
  field: string;

  @ApiProperty({ example: 'email must be an email' })
  message: string;
}

/** RFC 9457 problem details, the body of every error response. */
export class ProblemDocumentDto {
  @ApiProperty({
    example: 'urn:atrium:problem:validation-failed',
    description: 'Identifies the kind of problem; stable',
  })
  type: string;

  @ApiProperty({ example: 'Bad Request' })
  title: string;

  @ApiProperty({ example: 400 })
  status: number;

  @ApiProperty({ example: 'The request has invalid fields.' })
  detail: string;

  @ApiProperty({ example: '/api/v1/system/pings', description: 'Path of the request that failed' })
  instance: string;

  @ApiProperty({ example: '0b6f0c1e-8a43-4a4a-9e0c-3c1f1c9d2b7e', description: 'Same as the X-Request-Id header' })
  requestId: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'Present for validation failures' })
  errors?: FieldErrorDto[];
}
