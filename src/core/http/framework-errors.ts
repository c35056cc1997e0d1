import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem, statusCode } from './problem';
import { REQUEST_ID_HEADER } from './request-id';

const PROBLEMS: Record<string, { code: string; detail: string }> = {
  FST_ERR_BAD_URL: { code: 'malformed-url', detail: 'The URL is malformed (invalid percent-encoding).' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'uri-too-long', detail: 'A path parameter is longer than the server accepts.' },
};

/**
 * Fastify's `frameworkErrors`: the router refuses a malformed URL (400) or an over-long path parameter
 * (414) before any hook runs, so without this they would be Fastify's plain JSON without a request id.
 */
export function sendFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  void reply.header(REQUEST_ID_HEADER, request.id);
  sendProblem(
    { request, reply },
    {
      status,
      code: PROBLEMS[error.code]?.code ?? (status >= 500 ? 'internal-error' : statusCode(status)),
      detail: PROBLEMS[error.code]?.detail ?? 'The request could not be routed.',
    },
  );
}
