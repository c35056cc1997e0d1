import { setTimeout as sleep } from 'node:timers/promises';
import { RepeatingPass } from './repeating-pass';

describe(RepeatingPass.name, () => {
  it('should run passes one after another, each after the delay the previous one returned', async () => {
    const starts: number[] = [];
    let inFlight = 0;
    let overlapped = false;
    let thirdStarted!: () => void;
    const third = new Promise<void>((resolve) => (thirdStarted = resolve));
    const loop = new RepeatingPass(async () => {
      starts.push(Date.now());
      if (starts.length === 3) thirdStarted();
      overlapped ||= ++inFlight > 1;
      await sleep(20);
      inFlight--;
      return starts.length === 1 ? 60 : 0;
    });
    loop.start(0);
    await third;
    await loop.stop();

    expect(overlapped).toBe(false);
    // The second pass waited for the first to end (20 ms) and then for the 60 ms it asked for.
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(75);
    // The third asked for no delay: it followed the second's end (lower bound only; timers may run late).
    expect(starts[2] - starts[1]).toBeGreaterThanOrEqual(19);
  });

  it('should let a pass in flight finish on stop and start no further one', async () => {
    let finished = 0;
    let started = 0;
    let firstStarted!: () => void;
    const first = new Promise<void>((resolve) => (firstStarted = resolve));
    const loop = new RepeatingPass(async () => {
      started++;
      firstStarted();
      await sleep(50);
      finished++;
      return 0;
    });
    loop.start(0);
    await first;
    await loop.stop();
    expect(finished).toBe(1);
    await sleep(60);
    expect(started).toBe(1);
  });
});
