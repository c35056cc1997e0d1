'use strict';
// One bcrypt thread of PasswordHasher's pool (bcrypt-threads.ts). Plain CommonJS so the same file runs under
// ts-node/jest (from src/) and from the build (tsc copies it to dist/ with allowJs), without a TypeScript
// loader in every thread.
const { parentPort, workerData } = require('node:worker_threads');
const { lowerThreadPriority } = require('../threads/thread-priority.js');

// Before anything else: the sync API below holds this thread for the whole computation, and at normal
// priority two of them take both cores from the event loop, PostgreSQL and everything else on the machine.
const priority = lowerThreadPriority(workerData.niceness);
const bcrypt = require('bcrypt');

parentPort.on('message', ({ id, op, data, hash, cost }) => {
  try {
    let value;
    if (op === 'hash') value = bcrypt.hashSync(data, cost);
    else if (op === 'compare') value = bcrypt.compareSync(data, hash);
    else throw new Error(`unknown bcrypt operation ${String(op)}`);
    parentPort.postMessage({ id, ok: true, value });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, message: error instanceof Error ? error.message : String(error) });
  }
});

parentPort.postMessage({ ready: true, ...priority });
