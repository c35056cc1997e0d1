import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';

type HelmetMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
type Helmet = (options: Record<string, unknown>) => HelmetMiddleware;

// The helmet that @fastify/helmet would run, resolved from there so both always agree on the version.
const helmet = createRequire(require.resolve('@fastify/helmet'))('helmet') as Helmet;

/** What we configure helmet with; Swagger UI needs inline scripts and styles, everything else stays 'self'. */
export const HELMET_OPTIONS = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", "'unsafe-inline'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
    },
  },
};

/**
 * The response headers helmet sets, computed once: with no CSP nonces and no per-route options they are the
 * same for every request, while @fastify/helmet called helmet(options) on every request, rebuilding the
 * middleware and re-parsing the CSP directives each time. Helmet is run once against a recording response.
 */
export function securityHeaders(options: Record<string, unknown> = HELMET_OPTIONS): Record<string, string> {
  const set: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      set[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
      return recorder;
    },
    // Helmet only removes X-Powered-By, which Fastify never sends.
    removeHeader() {},
  };
  // Helmet 8 throws on a bad option rather than passing it to next().
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  return set;
}
