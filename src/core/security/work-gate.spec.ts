import { WorkGate, WorkGateFullError } from './work-gate';

/** A task that runs until `finish()` is called, recording when it started. */
function pending(started: string[], name: string): { task: () => Promise<string>; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    task: async () => {
      started.push(name);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe(WorkGate.name, () => {
  it('should run at most `concurrency` tasks at once and the waiting ones in arrival order', async () => {
    const gate = new WorkGate(2, 10);
    const started: string[] = [];
    const tasks = ['a', 'b', 'c', 'd'].map((name) => pending(started, name));
    const results = tasks.map((t) => gate.run(t.task));
    await tick();
    expect(started).toEqual(['a', 'b']);
    expect(gate.stats).toEqual({ running: 2, waiting: 2 });
    tasks[1].finish();
    await tick();
    expect(started).toEqual(['a', 'b', 'c']);
    tasks[0].finish();
    tasks[2].finish();
    tasks[3].finish();
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b', 'c', 'd']);
    expect(gate.stats).toEqual({ running: 0, waiting: 0 });
  });

  it('should refuse at once with a Retry-After estimate when the waiting line is full', async () => {
    const gate = new WorkGate(1, 1);
    const started: string[] = [];
    const first = pending(started, 'first');
    const second = pending(started, 'second');
    const results = [gate.run(first.task), gate.run(second.task)];
    const refused = gate.run(pending(started, 'third').task);
    await expect(refused).rejects.toBeInstanceOf(WorkGateFullError);
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 1 });
    first.finish();
    second.finish();
    await Promise.all(results);
    expect(started).toEqual(['first', 'second']);
  });

  it('should free the slot when a task fails', async () => {
    const gate = new WorkGate(1, 0);
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });

  it('should estimate Retry-After from how long tasks hold their slot', async () => {
    const gate = new WorkGate(1, 0);
    await gate.run(() => new Promise((resolve) => setTimeout(resolve, 1200)));
    const started: string[] = [];
    const blocker = pending(started, 'blocker');
    const running = gate.run(blocker.task);
    await expect(gate.run(() => Promise.resolve())).rejects.toMatchObject({ retryAfterSeconds: 2 });
    blocker.finish();
    await running;
  });
});
