import { AUDIT_LOG_JSON_SCHEMA } from './audit-page.schema';
import { AuditLogDto } from './audit-query.dto';

// The bytes Fastify writes with it: test/audit/audit-query.e2e-spec.ts.
describe('AUDIT_LOG_PAGE_ROUTE_SCHEMA', () => {
  it('should name every property AuditLogDto has, in the order it writes them', () => {
    const dto = AuditLogDto.from({
      id: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
      occurredAt: new Date('2026-01-02T03:04:05.678Z'),
      organizationId: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c89',
      actorId: null,
      action: 'customers.update',
      resourceType: 'customer',
      resourceId: 'c-1',
      outcome: 'success',
      ip: null,
      userAgent: null,
      requestId: null,
      changes: null,
      details: null,
      chainKey: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c89',
      seq: 1,
      prevHash: null,
      hash: 'h',
    });
    expect(Object.keys(AUDIT_LOG_JSON_SCHEMA.properties)).toEqual(Object.keys(dto));
  });
});
