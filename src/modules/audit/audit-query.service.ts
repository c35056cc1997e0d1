import { Injectable } from '@nestjs/common';
import { ValidationException } from '../../core/exceptions/app.exception';
import type { Page } from '../../core/pagination/page.dto';
import { Paginator } from '../../core/pagination/paginator';
import type { AuthUser } from '../auth/auth-user';
import type { AuditLogEntry } from './audit-log.entity';
import { AUDIT_LOG_LIST, AuditLogRepository, type AuditLogFilter, type TimeRange } from './audit-log.repository';
import type { AuditLogFilterQueryDto, AuditTimeRangeQueryDto, ListAuditLogsQueryDto } from './audit-query.dto';
import { AuditException, AuditExceptionCode } from './audit.exception';

/** `?from=&to=` as dates; `to` must come after `from`. */
export function timeRangeOf(query: AuditTimeRangeQueryDto): TimeRange {
  const from = query.from === undefined ? undefined : new Date(query.from);
  const to = query.to === undefined ? undefined : new Date(query.to);
  if (from && to && from.getTime() >= to.getTime()) {
    throw new ValidationException([{ field: 'to', message: 'to must be later than from' }]);
  }
  return { from, to };
}

export function filterOf(query: AuditLogFilterQueryDto): AuditLogFilter {
  const { actorId, action, resourceType, resourceId, outcome } = query;
  return { actorId, action, resourceType, resourceId, outcome, ...timeRangeOf(query) };
}

/** Reading the audit trail; always the caller's organization only. */
@Injectable()
export class AuditQueryService {
  constructor(
    private readonly auditLogs: AuditLogRepository,
    private readonly paginator: Paginator,
  ) {}

  async list(user: AuthUser, query: ListAuditLogsQueryDto): Promise<Page<AuditLogEntry>> {
    const filter = filterOf(query);
    const request = this.paginator.resolve(query, AUDIT_LOG_LIST);
    const rows = await this.auditLogs.listPage(user.organizationId, filter, request);
    return this.paginator.page(rows, request);
  }

  async get(user: AuthUser, id: string): Promise<AuditLogEntry> {
    const entry = await this.auditLogs.findInOrganization(user.organizationId, id);
    if (!entry) throw new AuditException(AuditExceptionCode.AuditLogNotFound, `No audit entry ${id}.`);
    return entry;
  }
}
