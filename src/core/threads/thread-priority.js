'use strict';
// Plain CommonJS: it runs inside worker threads, which load it without TypeScript (see worker-pool.ts).
const { readlinkSync } = require('node:fs');
const { setPriority } = require('node:os');

/**
 * Lowers the scheduling priority of the calling thread only. Linux keeps a nice value per thread (each one a
 * task with its own id), so a worker thread doing CPU-bound work can yield to the event loop of its own
 * process without touching it; raising one's own niceness needs no privilege. `/proc/thread-self` links to
 * `<pid>/task/<tid>`: the tid that setpriority(PRIO_PROCESS, tid) addresses.
 *
 * Never throws: where there is no /proc (macOS, Windows) or the call is refused, the thread keeps its
 * priority and `problem` says why, for the pool to log once.
 *
 * @param {number} niceness 0 (leave as is) to 19 (run only when nothing else wants the CPU)
 * @returns {{ tid?: number, niceness: number, problem?: string }}
 */
function lowerThreadPriority(niceness) {
  let tid;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isSafeInteger(tid) || tid <= 0) throw new Error('/proc/thread-self does not name a thread id');
    if (niceness > 0) setPriority(tid, niceness);
    return { tid, niceness };
  } catch (error) {
    return { tid, niceness: 0, problem: error instanceof Error ? error.message : String(error) };
  }
}

module.exports = { lowerThreadPriority };
