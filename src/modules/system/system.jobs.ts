/** Jobs of the `system` queue and their payloads. */
export type SystemJobs = {
  ping: { pingId: string; holdMs: number };
};

export const SYSTEM_JOB_NAMES = ['ping'] as const satisfies readonly (keyof SystemJobs)[];
