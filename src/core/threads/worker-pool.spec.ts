import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerPool, WorkerThreadError } from './worker-pool';

/** An echo thread: `{ op: 'echo', value }` answers value, `{ op: 'crash' }` throws outside any handler. */
const ECHO = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, op, value }) => {
  if (op === 'crash') setImmediate(() => { throw new Error('boom'); });
  else if (op === 'fail') parentPort.postMessage({ id, ok: false, message: 'refused' });
  else parentPort.postMessage({ id, ok: true, value });
});
parentPort.postMessage({ ready: true, niceness: 0 });
`;

describe(WorkerPool.name, () => {
  let dir: string;
  const pools: WorkerPool[] = [];
  const script = (name: string, source: string): string => {
    const path = join(dir, name);
    writeFileSync(path, source);
    return path;
  };
  const poolOf = (path: string, size = 1): WorkerPool => {
    const pool = new WorkerPool({ name: 'test', script: path, size, respawnDelayMs: 50 });
    pools.push(pool);
    return pool;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'worker-pool-'));
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('should answer tasks in turn when more are sent than there are threads', async () => {
    const pool = poolOf(script('echo.js', ECHO), 2);
    await pool.start();
    const values = await Promise.all(Array.from({ length: 7 }, (_, i) => pool.run<number>({ op: 'echo', value: i })));
    expect(values).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await expect(pool.run({ op: 'fail' })).rejects.toThrow(new WorkerThreadError('refused'));
  });

  it('should reject the task of a thread that throws, and run the next one on a replacement', async () => {
    const pool = poolOf(script('echo.js', ECHO));
    await pool.start();
    const [before] = pool.threads;
    await expect(pool.run({ op: 'crash' })).rejects.toThrow(/test thread exited with code 1: boom/);
    await expect(pool.run({ op: 'echo', value: 'again' })).resolves.toBe('again');
    expect(pool.threads).toHaveLength(1);
    expect(pool.threads[0].threadId).not.toBe(before.threadId);
  });

  it('should reject start and later tasks rather than hang when the script cannot start', async () => {
    const pool = poolOf(script('broken.js', `throw new Error('cannot load');`), 2);
    await expect(pool.start()).rejects.toThrow(/exited with code 1: cannot load/);
    await expect(pool.run({ op: 'echo', value: 1 })).rejects.toThrow(/closed/);

    const lazy = poolOf(script('broken.js', `throw new Error('cannot load');`));
    await expect(lazy.run({ op: 'echo', value: 1 })).rejects.toThrow(/cannot load/);
  });
});
