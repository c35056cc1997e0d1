/** Jobs of the `posts` queue and their payloads. */
export type PostsJobs = {
  /** One per scheduled post: publishes it if it is still scheduled at the version it was scheduled with. */
  publish: { postId: string; createdAt: string; organizationId: string; version: number };
  /** Periodic: publishes scheduled posts whose time has passed but whose job never ran (lost with Redis). */
  'sweep-due': Record<string, never>;
  /** Periodic: keeps the quarterly posts partitions created ahead. */
  'maintain-partitions': Record<string, never>;
};

export const POSTS_JOB_NAMES = [
  'publish',
  'sweep-due',
  'maintain-partitions',
] as const satisfies readonly (keyof PostsJobs)[];

/** Job schedulers upserted by every worker at start (idempotent). */
export const POSTS_SWEEP_SCHEDULER = 'posts-sweep';
export const POSTS_PARTITIONS_SCHEDULER = 'posts-partitions';
export const POSTS_PARTITIONS_EVERY_MS = 6 * 3600 * 1000;

/**
 * A publish job's id carries the post's version: every (re)schedule is a new job, so a job of an older
 * version still delayed, running or kept as completed can never swallow the new one (BullMQ ignores an add
 * whose id exists), and a stale job that fires anyway finds the version changed and does nothing.
 */
export function publishJobId(postId: string, version: number): string {
  return `post-${postId}-v${version}`;
}
