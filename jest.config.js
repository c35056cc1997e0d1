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

// The attack and fuzz suites assert on the whole database (no table, row or partition appeared or changed
// after an attack), so no other spec file may write to it meanwhile: they run in a second, serial pass
// (JEST_PASS=serial; `npm test` runs both passes, each with a database of its own).
const SERIAL_SUITES = ['<rootDir>/test/security/', '<rootDir>/test/fuzz/'];
const serialPass = process.env.JEST_PASS === 'serial';

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  // Two workers even on two cores: integration specs mostly wait on PostgreSQL, Redis and child processes.
  // Specs that run workers use a Redis key prefix of their own, so parallel files never take each other's jobs.
  maxWorkers: serialPass ? 1 : 2,
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
      testMatch: serialPass
        ? SERIAL_SUITES.map((dir) => `${dir}**/*.e2e-spec.ts`)
        : ['<rootDir>/test/**/*.e2e-spec.ts'],
      testPathIgnorePatterns: serialPass ? ['/node_modules/'] : ['/node_modules/', ...SERIAL_SUITES],
      transform,
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
