import { int, str } from './env-var';

export const DEV_CURSOR_SECRET = 'dev-only-cursor-secret-change-me';

export const paginationEnv = {
  PAGINATION_DEFAULT_LIMIT: int({ default: '20', min: 1, max: 1000, description: 'Page size when ?limit is absent' }),
  PAGINATION_MAX_LIMIT: int({ default: '100', min: 1, max: 1000, description: 'Largest ?limit accepted' }),
  CURSOR_SECRET: str({
    default: DEV_CURSOR_SECRET,
    minLength: 16,
    secret: true,
    description: 'HMAC key that makes list cursors tamper-evident (production needs its own, 32+ characters)',
  }),
};
