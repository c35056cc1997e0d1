import { bool, int, list, str } from './env-var';

export const httpEnv = {
  PORT: int({ default: '3000', min: 0, max: 65535, description: 'API port (0 picks a free port)' }),
  HOST: str({ default: '0.0.0.0', description: 'Interface the API listens on' }),
  CORS_ORIGINS: list({
    default: 'http://localhost:3000,http://localhost:5173',
    description: 'Comma-separated origins allowed by CORS; empty disables CORS; * is refused in production',
  }),
  BODY_LIMIT_BYTES: int({
    default: '1048576',
    min: 1024,
    max: 104857600,
    description: 'Largest JSON request body accepted (bytes); larger bodies get 413',
  }),
  HTTP_TIMEOUT_MS: int({
    default: '10000',
    min: 100,
    max: 600000,
    description: 'Default per-request timeout (ms); a route may override it with @RequestTimeout()',
  }),
  TRUST_PROXY: str({
    default: 'false',
    description:
      'Which proxies may set X-Forwarded-For: false, true (any; only behind a proxy you control), or comma-separated proxy addresses/CIDRs',
  }),
  METRICS_ENABLED: bool({
    default: (env) => (env.NODE_ENV === 'production' ? 'false' : 'true'),
    description: 'Serve Prometheus metrics at /metrics (off by default in production)',
  }),
  QUEUE_DASHBOARD_ENABLED: bool({
    default: (env) => (env.NODE_ENV === 'production' ? 'false' : 'true'),
    description:
      'Serve the bull-board queue dashboard at /admin/queues (bearer token with system:queues; off by default in production)',
  }),
  QUEUE_DASHBOARD_ORGANIZATIONS: list({
    default: '',
    description:
      'Ids of the operator organizations whose members (with system:queues) may open the queue dashboard; it spans every tenant’s jobs, so tenants never can. Empty = nobody',
  }),
  DOCS_ENABLED: bool({ default: 'true', description: 'Serve Swagger UI at /docs and the OpenAPI JSON at /docs-json' }),
};
