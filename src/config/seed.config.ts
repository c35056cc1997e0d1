import { bool, optionalStr, str } from './env-var';

export const seedEnv = {
  SEED_DEMO: bool({
    default: (env) => (env.NODE_ENV === 'production' || env.NODE_ENV === 'test' ? 'false' : 'true'),
    description: 'On API start, create a demo organization and its owner when the database has no organization',
  }),
  DEMO_ORGANIZATION_NAME: str({ default: 'Demo Organization', description: 'Name of the seeded demo organization' }),
  DEMO_ADMIN_EMAIL: str({ default: 'admin@demo.atrium.local', description: 'Email of the seeded demo owner' }),
  DEMO_ADMIN_PASSWORD: optionalStr({
    secret: true,
    description: 'Password of the seeded demo owner; unset = a random one, printed once when seeded',
  }),
};
