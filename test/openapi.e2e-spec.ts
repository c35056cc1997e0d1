import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createTestApp } from './helpers/test-app';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  requestBody?: { content: Record<string, { schema?: { $ref?: string } }> };
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { properties?: Record<string, unknown> }>;
    securitySchemes: Record<string, unknown>;
  };
}

describe('OpenAPI document', () => {
  let app: NestFastifyApplication;
  let document: OpenApiDocument;

  beforeAll(async () => {
    app = await createTestApp();
    const res = await app.inject('/docs-json');
    expect(res.statusCode).toBe(200);
    document = res.json<OpenApiDocument>();
  });

  afterAll(async () => {
    await app.close();
  });

  it('should be a valid OpenAPI 3 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(document as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(document.openapi).toMatch(/^3\./);
  });

  it('should declare the bearer JWT scheme', () => {
    expect(document.components.securitySchemes.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
  });

  it('should describe the problem document and use it for every 500', () => {
    expect(Object.keys(document.components.schemas.ProblemDocumentDto.properties ?? {})).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'instance', 'requestId', 'errors']),
    );
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const error = operation.responses['500'];
        expect({ path, method, ref: error?.content?.['application/problem+json']?.schema?.$ref }).toEqual({
          path,
          method,
          ref: '#/components/schemas/ProblemDocumentDto',
        });
      }
    }
  });

  it('should document DTOs through the CLI plugin (request body and response of the ping)', () => {
    const create = document.paths['/api/v1/system/pings'].post;
    expect(create.requestBody?.content['application/json'].schema?.$ref).toBe('#/components/schemas/CreatePingDto');
    expect(document.components.schemas.CreatePingDto.properties).toHaveProperty('holdMs');
    expect(Object.keys(document.components.schemas.SystemPingDto.properties ?? {})).toEqual(
      expect.arrayContaining(['id', 'status', 'requestId', 'processedAt', 'processedBy']),
    );
    const get = document.paths['/api/v1/system/pings/{id}'].get;
    expect(get.responses['404'].content?.['application/problem+json']).toBeDefined();
  });

  it('should document the health and metrics routes outside the /api/v1 prefix', () => {
    expect(document.paths['/health/live']).toBeDefined();
    expect(document.paths['/health/ready']).toBeDefined();
    expect(document.paths['/metrics']).toBeDefined();
  });

  it('should serve Swagger UI at /docs', async () => {
    const res = await app.inject('/docs');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('swagger');
  });
});
