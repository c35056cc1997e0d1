import type { FastifySchema } from 'fastify';

const nullableString = { type: ['string', 'null'] } as const;
const nullableObject = { type: ['object', 'null'], additionalProperties: true } as const;

/**
 * AuditLogDto as JSON Schema, properties in the order AuditLogDto.from writes them, so Fastify's compiled
 * serializer (fast-json-stringify) writes the same bytes as JSON.stringify. It leaves out any property not
 * named here: audit-page.schema.spec.ts fails when AuditLogDto gains one.
 */
export const AUDIT_LOG_JSON_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    occurredAt: { type: 'string', format: 'date-time' },
    organizationId: nullableString,
    actorId: nullableString,
    action: { type: 'string' },
    resourceType: nullableString,
    resourceId: nullableString,
    outcome: { type: 'string' },
    ip: nullableString,
    userAgent: nullableString,
    requestId: nullableString,
    changes: nullableObject,
    details: nullableObject,
    seq: { type: ['integer', 'null'] },
    prevHash: nullableString,
    hash: nullableString,
  },
} as const;

/**
 * The 200 response of GET /audit-logs for Fastify only (the OpenAPI document comes from the DTOs): a page of
 * entries with their hashes and JSON is written by the compiled serializer instead of JSON.stringify.
 */
export const AUDIT_LOG_PAGE_ROUTE_SCHEMA: FastifySchema = {
  response: {
    200: {
      type: 'object',
      properties: {
        data: { type: 'array', items: AUDIT_LOG_JSON_SCHEMA },
        page: {
          type: 'object',
          properties: { limit: { type: 'integer' }, nextCursor: nullableString, hasMore: { type: 'boolean' } },
        },
      },
    },
  },
};
