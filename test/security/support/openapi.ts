import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/* The subset of the OpenAPI document (GET /docs-json) the security specs read. */

export interface SchemaObject {
  $ref?: string;
  type?: string;
  properties?: Record<string, SchemaObject>;
  items?: SchemaObject;
  allOf?: SchemaObject[];
  oneOf?: SchemaObject[];
  anyOf?: SchemaObject[];
  additionalProperties?: boolean | SchemaObject;
  enum?: unknown[];
}

export interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: SchemaObject;
}

export interface OperationObject {
  operationId?: string;
  parameters?: ParameterObject[];
  requestBody?: { content: Record<string, { schema?: SchemaObject }> };
  responses: Record<string, { content?: Record<string, { schema?: SchemaObject }> }>;
  'x-required-permission'?: string;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, SchemaObject> };
}

export interface Operation {
  /** `GET /api/v1/customers/:id`, the key the route table uses. */
  key: string;
  method: string;
  path: string;
  operation: OperationObject;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

export async function openApiDocument(app: NestFastifyApplication): Promise<OpenApiDocument> {
  const res = await app.inject({ method: 'GET', url: '/docs-json' });
  if (res.statusCode !== 200) throw new Error(`GET /docs-json: ${res.statusCode}`);
  return res.json<OpenApiDocument>();
}

export function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({
        key: `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`,
        method: method.toUpperCase(),
        path,
        operation,
      })),
  );
}

export function resolve(document: OpenApiDocument, schema: SchemaObject | undefined): SchemaObject | undefined {
  if (!schema?.$ref) return schema;
  return resolve(document, document.components.schemas[schema.$ref.replace('#/components/schemas/', '')]);
}

/** Every property name a schema can carry, nested ones as `a.b` (arrays of objects as `a.b` too). */
export function propertyPaths(
  document: OpenApiDocument,
  schema: SchemaObject | undefined,
  prefix = '',
  seen = new Set<SchemaObject>(),
): string[] {
  const resolved = resolve(document, schema);
  if (!resolved || seen.has(resolved)) return [];
  seen.add(resolved);
  const branches = [...(resolved.allOf ?? []), ...(resolved.oneOf ?? []), ...(resolved.anyOf ?? [])];
  const own = Object.entries(resolved.properties ?? {}).flatMap(([name, property]) => [
    `${prefix}${name}`,
    ...propertyPaths(document, property, `${prefix}${name}.`, seen),
  ]);
  return [
    ...own,
    ...branches.flatMap((branch) => propertyPaths(document, branch, prefix, seen)),
    ...(resolved.items ? propertyPaths(document, resolved.items, prefix, seen) : []),
  ];
}
