/** Jobs of the `audit` queue and their payloads. */
export type AuditJobs = {
  'maintain-partitions': Record<string, never>;
};

export const AUDIT_JOB_NAMES = ['maintain-partitions'] as const satisfies readonly (keyof AuditJobs)[];

/** The job scheduler that runs partition upkeep; upserted by every worker at start (idempotent). */
export const AUDIT_PARTITIONS_SCHEDULER = 'audit-partitions';
export const AUDIT_PARTITIONS_EVERY_MS = 6 * 3600 * 1000;
