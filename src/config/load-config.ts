import { config as loadDotEnv } from 'dotenv';
import { AppConfig } from './app.config';
import { ConfigError, type RawEnv } from './env-var';

/** Reads `.env` (when present, never overriding real environment variables) and the process environment. */
export function processEnv(): RawEnv {
  loadDotEnv({ quiet: true });
  return process.env;
}

/** For entry points: a bad setting ends the process with one clear line on stderr and exit code 1. */
export function loadConfigOrExit(env: RawEnv = processEnv()): AppConfig {
  try {
    return AppConfig.fromEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
