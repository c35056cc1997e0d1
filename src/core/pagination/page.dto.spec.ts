import { Controller, Get, Query, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ApiProperty, ApiPropertyOptional, DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { IsOptional, IsString } from 'class-validator';
import { ApiPageResponse, mapPage, PageDto, PageMetaDto, type Page } from './page.dto';
import { ApiSortQuery, PageQueryDto } from './page-query.dto';
import { defineList } from './sort';

const WIDGETS = defineList({
  scope: 'widgets',
  idColumn: 'w.id',
  sorts: [
    { field: 'createdAt', column: 'w.created_at', type: 'date' },
    { field: 'name', column: 'w.name', type: 'string' },
  ],
  defaultSort: '-createdAt',
});

class WidgetDto {
  @ApiProperty()
  id: string;

  @ApiProperty()
  name: string;
}

class ListWidgetsQuery extends PageQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  colour?: string;
}

@Controller('widgets')
class WidgetsController {
  @Get()
  @ApiPageResponse(WidgetDto)
  @ApiSortQuery(WIDGETS)
  list(@Query() _query: ListWidgetsQuery): Page<WidgetDto> {
    return { data: [], page: { limit: 20, nextCursor: null, hasMore: false } };
  }
}

let app: INestApplication;
let document: OpenAPIObject;

beforeAll(async () => {
  const moduleRef = await Test.createTestingModule({ controllers: [WidgetsController] }).compile();
  app = moduleRef.createNestApplication(new FastifyAdapter());
  await app.init();
  document = SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('t').setVersion('1').build());
});

afterAll(async () => {
  await app.close();
});

describe(ApiPageResponse.name, () => {
  it('should document the response as the page envelope with typed data when applied to a route', () => {
    const response = document.paths['/widgets'].get?.responses['200'];
    expect(response).toMatchObject({
      content: {
        'application/json': {
          schema: {
            allOf: [
              { $ref: '#/components/schemas/PageDto' },
              {
                type: 'object',
                required: ['data'],
                properties: { data: { type: 'array', items: { $ref: '#/components/schemas/WidgetDto' } } },
              },
            ],
          },
        },
      },
    });
  });

  it('should register the envelope, its metadata and the item schema when applied to a route', () => {
    const schemas = document.components?.schemas ?? {};
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining([PageDto.name, PageMetaDto.name, WidgetDto.name]));
    expect(schemas.PageDto).toMatchObject({
      required: ['page'],
      properties: { page: { $ref: '#/components/schemas/PageMetaDto' } },
    });
    expect(schemas.PageMetaDto).toMatchObject({
      required: ['limit', 'nextCursor', 'hasMore'],
      properties: {
        limit: { type: 'integer', example: 20 },
        nextCursor: { type: 'string', nullable: true },
        hasMore: { type: 'boolean' },
      },
    });
  });

  it('should produce a valid OpenAPI document when the decorators are used', async () => {
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const result = await new Validator().validate(JSON.parse(JSON.stringify(document)) as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });
});

describe(ApiSortQuery.name, () => {
  it('should document limit, cursor, filters and the list sort values as query parameters when the query extends PageQueryDto', () => {
    const parameters = document.paths['/widgets'].get?.parameters ?? [];
    const byName = Object.fromEntries(
      parameters.map((parameter) => ['name' in parameter ? parameter.name : '', parameter]),
    );
    expect(byName.limit).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1 } });
    expect(byName.cursor).toMatchObject({ in: 'query', required: false, schema: { type: 'string' } });
    expect(parameters.map((parameter) => ('name' in parameter ? parameter.name : '')).sort()).toEqual([
      'colour',
      'cursor',
      'limit',
      'sort',
    ]);
    expect(byName.sort).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'string', enum: ['createdAt', '-createdAt', 'name', '-name'], default: '-createdAt' },
    });
  });
});

describe(mapPage.name, () => {
  it('should convert every item and keep the page metadata when given a converter', () => {
    const page = { data: [1, 2], page: { limit: 2, nextCursor: 'c', hasMore: true } };
    expect(mapPage(page, (n) => `#${n}`)).toEqual({ data: ['#1', '#2'], page: page.page });
  });
});
