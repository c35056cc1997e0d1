/** Jobs of the `media` queue and their payloads. */
export type MediaJobs = {
  /** Scans new media (when scanning is on), then derives image renditions. Safe to run again. */
  process: { mediaId: string };
  /** Periodic: re-enqueues media whose processing job was lost, removes expired direct uploads. */
  maintain: Record<string, never>;
};

export const MEDIA_JOB_NAMES = ['process', 'maintain'] as const satisfies readonly (keyof MediaJobs)[];

export const MEDIA_MAINTAIN_SCHEDULER = 'media-maintain';
export const MEDIA_MAINTAIN_EVERY_MS = 5 * 60 * 1000;

/** One processing job per media at a time (BullMQ ignores an add whose id is waiting or running). */
export function processJobId(mediaId: string): string {
  return `media-${mediaId}`;
}
