import type { DataSource } from 'typeorm';
import type { KeysetPageOptions } from '../../core/pagination/keyset';
import { AUDIT_LOG_LIST, AuditLogRepository } from './audit-log.repository';

describe(AuditLogRepository.name, () => {
  const repository = new AuditLogRepository({} as DataSource);
  const page = (over: Partial<KeysetPageOptions> = {}): KeysetPageOptions => ({
    sort: AUDIT_LOG_LIST.sorts[0],
    direction: 'desc',
    limit: 20,
    idColumn: AUDIT_LOG_LIST.idColumn,
    ...over,
  });

  it('should bind every filter value and keep the text to fixed fragments when filters are given', () => {
    const from = new Date('2026-11-01T00:00:00Z');
    const to = new Date('2026-11-02T00:00:00Z');
    const hostile = "x' OR 1=1; --";
    const { text, values } = repository.listStatement(
      'org-1',
      { actorId: 'actor-1', action: hostile, resourceType: hostile, resourceId: 'r', outcome: 'denied', from, to },
      page({ after: { value: to, id: 'id-9' } }),
    );
    expect(text).not.toContain(hostile);
    expect(text).toContain(
      'WHERE a.organization_id = $1 AND a.actor_id = $2 AND a.action = $3 AND a.resource_type = $4 ' +
        'AND a.resource_id = $5 AND a.outcome = $6 AND a.occurred_at >= $7 AND a.occurred_at < $8 ' +
        'AND (a.occurred_at, a.id) < ($9, $10) ORDER BY a.occurred_at DESC, a.id DESC LIMIT $11',
    );
    expect(values).toEqual(['org-1', 'actor-1', hostile, hostile, 'r', 'denied', from, to, to, 'id-9', 21]);
  });

  it('should read forward from the cursor and fetch one row more than the limit when sorted oldest first', () => {
    const after = new Date('2026-11-01T12:00:00Z');
    const { text, values } = repository.listStatement(
      'org-1',
      {},
      page({ direction: 'asc', limit: 5, after: { value: after, id: 'id-1' } }),
    );
    expect(text).toMatch(/FROM "audit_logs" "a" LEFT JOIN "audit_chain_links" "l" ON l\.entry_id = a\.id WHERE /);
    expect(text).toContain(
      'WHERE a.organization_id = $1 AND (a.occurred_at, a.id) > ($2, $3) ORDER BY a.occurred_at ASC, a.id ASC LIMIT $4',
    );
    expect(values).toEqual(['org-1', after, 'id-1', 6]);
  });

  it('should refuse a sort it has no statement for', () => {
    expect(() =>
      repository.listStatement('org-1', {}, page({ sort: { field: 'action', column: 'a.action', type: 'string' } })),
    ).toThrow('cannot be sorted by action');
  });
});
