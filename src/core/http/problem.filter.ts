import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from '../database/database-unavailable';
import { AppException } from '../exceptions/app.exception';
import { sendProblem, statusCode, statusTitle } from './problem';

export interface Problem {
  status: number;
  code: string;
  detail: string;
  extensions?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Fastify's own client errors (raised before Nest sees the request), by their error code. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-body',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed-body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-body',
};

/** PostgreSQL errors a client can cause; anything else stays a 500. Details never include SQL. */
const PG_ERRORS: Record<string, Problem> = {
  '23505': { status: 409, code: 'conflict', detail: 'A record with the same unique value already exists.' },
  '23503': { status: 409, code: 'conflict', detail: 'The record is referenced by, or refers to, a missing record.' },
  '22P02': { status: 400, code: 'invalid-input', detail: 'A value has an invalid format.' },
  // A NUL character (\u0000) in any text a query binds: PostgreSQL text cannot hold it.
  '22021': { status: 400, code: 'invalid-input', detail: 'A value contains a character that cannot be stored.' },
  '57014': { status: 503, code: 'query-timeout', detail: 'The database did not answer in time; try again.' },
  '40001': { status: 409, code: 'concurrent-update', detail: 'A concurrent change interfered; try again.' },
  '40P01': { status: 409, code: 'concurrent-update', detail: 'A concurrent change interfered; try again.' },
};

/** PostgreSQL unreachable (refused, connect or pool wait past DB_CONNECT_TIMEOUT_MS, connection lost). */
const DATABASE_UNAVAILABLE: Problem = {
  status: 503,
  code: 'database-unavailable',
  detail: 'The database cannot be reached right now; try again shortly.',
  headers: { 'Retry-After': '5' },
};

function httpExceptionDetail(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

function toProblem(exception: unknown): Problem {
  if (exception instanceof AppException) {
    return {
      status: exception.status,
      code: exception.code,
      detail: exception.message,
      extensions: exception.extensions,
      headers: exception.headers,
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    // The Fastify adapter wraps Fastify's client errors (body parsing, limits) and keeps the original as cause.
    const fastifyCode = FASTIFY_CODES[(exception.cause as { code?: string } | undefined)?.code ?? ''];
    return { status, code: fastifyCode ?? statusCode(status), detail: httpExceptionDetail(exception) };
  }
  if (isDatabaseUnavailable(exception)) return DATABASE_UNAVAILABLE;
  if (exception instanceof QueryFailedError) {
    const pg = PG_ERRORS[(exception.driverError as { code?: string } | undefined)?.code ?? ''];
    if (pg) return pg;
  }
  const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const status = fastifyError.statusCode;
    const code = FASTIFY_CODES[fastifyError.code ?? ''] ?? statusCode(status);
    // Fastify's messages describe the request (limits, media types), never internals.
    return { status, code, detail: fastifyError.message ?? statusTitle(status) };
  }
  return {
    status: 500,
    code: 'internal-error',
    detail: 'An unexpected error occurred. Quote the requestId when reporting it.',
  };
}

/** Turns every error into RFC 9457 problem+json; unknown errors become a 500 with no internals. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = toProblem(exception);
    if (problem.status >= 500) {
      this.logger.error({ err: exception, requestId: request.id }, 'request failed');
    }
    for (const [name, value] of Object.entries(problem.headers ?? {})) void reply.header(name, value);
    sendProblem({ request, reply }, problem);
  }
}
