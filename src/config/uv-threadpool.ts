/**
 * Import first in every entry point. libuv sizes its thread pool from UV_THREADPOOL_SIZE once, when the pool
 * first starts (the first async fs call, dns.lookup, bcrypt…), so the default must be in the environment
 * before anything can touch the pool; a value given by the environment or `.env` is kept.
 */
import { config as loadDotEnv } from 'dotenv';
import { DEFAULT_UV_THREADPOOL_SIZE } from './runtime.config';

// Synchronous, and never overriding the real environment (as load-config reads it later): a size in `.env` counts.
loadDotEnv({ quiet: true });
process.env.UV_THREADPOOL_SIZE ||= String(DEFAULT_UV_THREADPOOL_SIZE);
