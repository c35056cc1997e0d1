import { optionalStr, str, url } from './env-var';

export const mailEnv = {
  SMTP_URL: optionalStr({
    secret: true,
    description:
      'SMTP server, e.g. smtp://user:pass@host:587 or smtps://…; unset = mails go to the log and MAIL_OUTBOX_DIR',
  }),
  MAIL_FROM: str({ default: 'Atrium <no-reply@atrium.local>', description: 'From address of every mail' }),
  MAIL_OUTBOX_DIR: str({
    default: 'var/outbox',
    description: 'Folder the development mail transport writes .eml files to',
  }),
  PUBLIC_APP_URL: url({
    default: 'http://localhost:3000',
    protocols: ['http', 'https'],
    description: 'Base URL of the web client, used in links inside mails',
  }),
};
