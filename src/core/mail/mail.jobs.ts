import type { MailMessage } from './mail-message';

/** Jobs of the `mail` queue and their payloads. */
export type MailJobs = {
  send: MailMessage;
};

export const MAIL_JOB_NAMES = ['send'] as const satisfies readonly (keyof MailJobs)[];
