import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { FieldErrorDto, ProblemDocumentDto } from './problem-document.dto';

const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDocumentDto' } } };

// Errors any route can answer with, whatever it declares itself.
const COMMON_ERRORS = {
  '500': { description: 'Unexpected error (no internals disclosed; quote requestId)', content: PROBLEM },
};

export function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Atrium API')
    .setDescription(
      'CRM + content backend. Errors are RFC 9457 problem details (application/problem+json) with a requestId; ' +
        'lists use cursor pagination ({ data, page: { limit, nextCursor, hasMore } }).',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDocumentDto, FieldErrorDto] });
  for (const path of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const) {
      const operation = path[method];
      if (operation) operation.responses = { ...COMMON_ERRORS, ...operation.responses };
    }
  }
  return document;
}

/** Swagger UI at /docs, the document at /docs-json. */
export function setupOpenApi(app: NestFastifyApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
}
