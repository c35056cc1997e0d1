import { Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { mergeMap, type Observable } from 'rxjs';
import { AUDITED, type AuditedOptions } from './audit.metadata';
import { AuditService } from './audit.service';

/**
 * Records the success of an @Audited route. Only successes: a handler that throws produces no entry here
 * (denied permission checks are recorded by the permission guard). The write is awaited, so the entry
 * exists when the client sees the response; a failed write is logged, not turned into an error, because
 * the change itself is already committed.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger(AuditInterceptor.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.get<AuditedOptions | undefined>(AUDITED, context.getHandler());
    if (!options) return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return next.handle().pipe(
      mergeMap(async (result: unknown) => {
        await this.record(options, request, result);
        return result;
      }),
    );
  }

  private async record(options: AuditedOptions, request: FastifyRequest, result: unknown): Promise<void> {
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    const resultId = result !== null && typeof result === 'object' ? (result as { id?: unknown }).id : undefined;
    const resourceId = options.resourceIdParam ? params[options.resourceIdParam] : resultId;
    const body = request.body !== null && typeof request.body === 'object' ? request.body : null;
    const userAgent = request.headers['user-agent'];
    try {
      await this.audit.record({
        organizationId: request.user?.organizationId ?? null,
        actorId: request.user?.id ?? null,
        action: options.action,
        resourceType: options.resourceType,
        resourceId: typeof resourceId === 'string' ? resourceId : null,
        outcome: 'success',
        ip: request.ip ?? null,
        userAgent: typeof userAgent === 'string' ? userAgent : null,
        requestId: String(request.id),
        // The request's fields (values redacted by the service): what the caller asked to change.
        details: body ? { request: body } : null,
      });
    } catch (error) {
      this.logger.error({ err: error, action: options.action }, 'audit entry could not be written');
    }
  }
}
