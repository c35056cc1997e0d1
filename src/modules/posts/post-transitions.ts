import type { PostStatus } from './post.entity';

/** The lifecycle actions, one route each (`POST /posts/:id/<action>`). */
export const POST_ACTIONS = ['publish', 'schedule', 'unschedule', 'archive', 'unarchive'] as const;
export type PostAction = (typeof POST_ACTIONS)[number];

/**
 * Which statuses each action may start from, and where it leads. `schedule` from `scheduled` is a
 * reschedule (new publishAt, the old job superseded); every other action changes the status.
 */
const TRANSITIONS: Readonly<Record<PostAction, { from: readonly PostStatus[]; to: PostStatus }>> = {
  publish: { from: ['draft', 'scheduled'], to: 'published' },
  schedule: { from: ['draft', 'scheduled'], to: 'scheduled' },
  unschedule: { from: ['scheduled'], to: 'draft' },
  archive: { from: ['draft', 'scheduled', 'published'], to: 'archived' },
  unarchive: { from: ['archived'], to: 'draft' },
};

/** Whether `action` may be applied to a post in `status`. */
export function canApply(status: PostStatus, action: PostAction): boolean {
  return TRANSITIONS[action].from.includes(status);
}

/** The status `action` leads to. */
export function targetStatus(action: PostAction): PostStatus {
  return TRANSITIONS[action].to;
}

/** The actions a post in `status` allows, in POST_ACTIONS order (what an illegal-transition problem names). */
export function allowedActions(status: PostStatus): PostAction[] {
  return POST_ACTIONS.filter((action) => canApply(status, action));
}
