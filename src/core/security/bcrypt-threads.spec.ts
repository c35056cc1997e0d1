import bcrypt from 'bcrypt';
import { existsSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { BcryptThreads } from './bcrypt-threads';

/** Field 19 of /proc/<pid>/task/<tid>/stat: the thread's nice value (the name field may hold spaces). */
function niceOf(tid: number): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
}

const tidsOf = (threads: BcryptThreads): number[] => threads.threads.map((thread) => thread.tid as number);

describe(BcryptThreads.name, () => {
  const open: BcryptThreads[] = [];
  const started = async (size: number, niceness: number): Promise<BcryptThreads> => {
    const threads = new BcryptThreads(size, niceness);
    open.push(threads);
    await threads.start();
    return threads;
  };

  afterEach(async () => {
    await Promise.all(open.splice(0).map((threads) => threads.close()));
  });

  it('should run each thread at the configured niceness and leave the event loop thread alone', async () => {
    const before = getPriority();
    const threads = await started(2, 7);
    const tids = tidsOf(threads);
    expect(tids).toHaveLength(2);
    expect(new Set(tids).size).toBe(2);
    for (const tid of tids) {
      expect(tid).not.toBe(process.pid);
      expect(niceOf(tid)).toBe(7);
    }
    expect(niceOf(process.pid)).toBe(before);
    expect(threads.threads.map((thread) => thread.niceness)).toEqual([7, 7]);
  });

  it('should leave the threads at the process priority when the niceness is 0', async () => {
    const threads = await started(1, 0);
    expect(niceOf(tidsOf(threads)[0])).toBe(getPriority());
  });

  it('should hash and compare like bcrypt when the work runs on the threads', async () => {
    const threads = await started(2, 19);
    const hash = await threads.hash('pre-hashed secret', 4);
    expect(bcrypt.getRounds(hash)).toBe(4);
    await expect(bcrypt.compare('pre-hashed secret', hash)).resolves.toBe(true);
    await expect(threads.compare('pre-hashed secret', hash)).resolves.toBe(true);
    await expect(threads.compare('another secret', hash)).resolves.toBe(false);
    await expect(threads.compare('pre-hashed secret', 'not-a-bcrypt-hash')).resolves.toBe(false);
    // More calls than threads: the rest wait for a free thread instead of failing.
    const many = await Promise.all(Array.from({ length: 5 }, () => threads.compare('pre-hashed secret', hash)));
    expect(many).toEqual([true, true, true, true, true]);
  });

  it('should reject the call in flight when its thread dies, and replace the thread', async () => {
    const threads = await started(1, 19);
    const hash = await bcrypt.hash('pre-hashed secret', 10);
    const [victim] = tidsOf(threads);
    const inFlight = threads.compare('pre-hashed secret', hash);
    const slots = [...threads['pool']['slots']];
    expect(slots).toHaveLength(1);
    await slots[0].worker.terminate();
    await expect(inFlight).rejects.toThrow(/bcrypt thread exited/);

    await expect(threads.compare('pre-hashed secret', hash)).resolves.toBe(true);
    const [replacement] = tidsOf(threads);
    expect(replacement).not.toBe(victim);
    expect(niceOf(replacement)).toBe(19);
  });

  it('should end every thread when closed, and reject calls in flight and after', async () => {
    const threads = await started(2, 19);
    const tids = tidsOf(threads);
    const inFlight = threads.compare('pre-hashed secret', await bcrypt.hash('pre-hashed secret', 10));
    const rejected = expect(inFlight).rejects.toThrow(/closed/);
    await threads.close();
    await rejected;
    for (const tid of tids) expect(existsSync(`/proc/${process.pid}/task/${tid}`)).toBe(false);
    await expect(threads.compare('x', 'y')).rejects.toThrow(/closed/);
  });
});
