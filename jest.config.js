// Unit specs live beside the code (src/**/*.spec.ts); integration specs in test/ run against the real
// PostgreSQL and Redis, in a database and Redis key prefix of their own per run (see test/setup).
const transform = {
  '^.+\\.ts$': [
    'ts-jest',
    {
      tsconfig: 'tsconfig.json',
      // Types are checked by `npm run typecheck`; here only the Swagger plugin needs the program.
      diagnostics: { exclude: ['**'], ignoreCodes: [151002] },
      astTransformers: { before: ['<rootDir>/test/setup/swagger-plugin.js'] },
    },
  ],
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  // Two workers even on two cores: integration specs mostly wait on PostgreSQL, Redis and child processes.
  // Specs that run workers use a Redis key prefix of their own, so parallel files never take each other's jobs.
  maxWorkers: 2,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
      transform,
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform,
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
