import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { JWK } from 'jose';
import { SkipRateLimit } from '../../core/rate-limit/rate-limit.decorator';
import { Public } from '../../core/http/public.decorator';
import { JwtKeys } from './tokens/jwt-keys.service';

@ApiTags('auth')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: JwtKeys) {}

  @Get('jwks.json')
  @Public()
  @SkipRateLimit()
  @Header('cache-control', 'public, max-age=300')
  @ApiOperation({ summary: 'Public keys that verify access tokens (JWKS); several during a key rotation' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true } } },
    },
  })
  jwks(): { keys: JWK[] } {
    return this.keys.jwks;
  }
}
