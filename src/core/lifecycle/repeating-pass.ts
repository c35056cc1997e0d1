/**
 * Runs a pass of background work over and over in this process, never two at once: each run resolves to the
 * delay before the next one, which starts only after it ended. For loops that must go on while Redis is down
 * (so not BullMQ repeatable jobs). `run` must not reject: a pass handles its own failures. `stop` lets a run
 * in flight finish, so call it from onModuleDestroy, before the connections the pass uses are closed.
 */
export class RepeatingPass {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly run: () => Promise<number>) {}

  start(delayMs: number): void {
    this.schedule(delayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.run().then((nextDelayMs) => {
        this.running = undefined;
        this.schedule(nextDelayMs);
      });
    }, delayMs);
    // The loop alone does not keep the process alive.
    this.timer.unref();
  }
}
