import { oneOf } from './env-var';

export const loggingEnv = {
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, {
    default: 'info',
    description: 'Lowest log level written',
  }),
  LOG_FORMAT: oneOf(['json', 'ecs', 'pretty'] as const, {
    default: 'json',
    description: 'json (pino), ecs (Elastic Common Schema for Elasticsearch) or pretty (human-readable, development)',
  }),
};
