import { envSchema } from './app.config';
import type { EnvVar } from './env-var';

export const README_TABLE_START = '<!-- config-table:start -->';
export const README_TABLE_END = '<!-- config-table:end -->';

const GROUP_OF: Record<string, string> = {
  NODE_ENV: 'Runtime',
  PORT: 'HTTP',
  DATABASE_URL: 'PostgreSQL',
  REDIS_URL: 'Redis',
  LOG_LEVEL: 'Logging',
  PAGINATION_DEFAULT_LIMIT: 'Pagination',
  JWT_PRIVATE_KEY_FILE: 'Tokens',
  AUTH_REGISTRATION_ENABLED: 'Authentication',
  RATE_LIMIT_WINDOW_SECONDS: 'Rate limits',
  SMTP_URL: 'Mail',
  WORKER_CONCURRENCY: 'Worker',
  AUDIT_PARTITIONS_AHEAD_MONTHS: 'Audit',
  CUSTOMER_IMPORT_MAX_BYTES: 'Customers',
  IDEMPOTENCY_TTL_SECONDS: 'Idempotency',
  STORAGE_DRIVER: 'Storage',
  CLAMAV_HOST: 'Virus scanning',
  MEDIA_MAX_BYTES_JPG: 'Media',
  SEED_DEMO: 'Demo data',
};

function shownDefault(variable: EnvVar<unknown>): string {
  if (typeof variable.default === 'function') {
    return `${variable.default({ NODE_ENV: 'development' })} (production: ${variable.default({ NODE_ENV: 'production' })})`;
  }
  return variable.default ?? '(required)';
}

/** `.env.example`: every setting with its description and development default. */
export function renderEnvExample(): string {
  const lines = [
    '# Atrium configuration. Every variable is optional in development; the values below are the defaults.',
    '# Generated from src/config by `npm run config:docs` (a test fails when this file is out of date).',
  ];
  for (const [name, variable] of Object.entries(envSchema)) {
    if (GROUP_OF[name]) lines.push('', `# --- ${GROUP_OF[name]} ---`);
    const value =
      typeof variable.default === 'function' ? variable.default({ NODE_ENV: 'development' }) : variable.default;
    lines.push(
      `# ${variable.description}${typeof variable.default === 'function' ? ` [production default: ${variable.default({ NODE_ENV: 'production' })}]` : ''}`,
    );
    lines.push(`${name}=${value ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The README's configuration table. */
export function renderConfigTable(): string {
  const rows = Object.entries(envSchema).map(
    ([name, variable]) =>
      `| \`${name}\` | ${shownDefault(variable).replace(/\|/g, '\\|') || '(empty)'} | ${variable.description.replace(/\|/g, '\\|')} |`,
  );
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
