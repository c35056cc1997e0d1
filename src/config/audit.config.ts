import { int } from './env-var';

export const auditEnv = {
  AUDIT_PARTITIONS_AHEAD_MONTHS: int({
    default: '3',
    min: 1,
    max: 24,
    description: 'Monthly audit_logs partitions the worker keeps created ahead of the current month',
  }),
  AUDIT_RETENTION_MONTHS: int({
    default: '13',
    min: 1,
    max: 1200,
    description: 'Audit entries older than this many months are dropped, a whole monthly partition at a time',
  }),
};
