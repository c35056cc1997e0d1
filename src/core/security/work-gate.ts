/** Thrown by `WorkGate.run` when the waiting line is full; `retryAfterSeconds` estimates when it drains. */
export class WorkGateFullError extends Error {
  override readonly name = 'WorkGateFullError';

  constructor(readonly retryAfterSeconds: number) {
    super('too much work is waiting');
  }
}

/**
 * A FIFO semaphore with a bounded waiting line: at most `concurrency` tasks run at once, at most `maxWaiting`
 * wait for a slot, and one more is refused at once (WorkGateFullError) instead of waiting without bound.
 */
export class WorkGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Moving average of how long a task holds its slot, for the Retry-After estimate. */
  private averageMs = 0;

  constructor(
    readonly concurrency: number,
    readonly maxWaiting: number,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be at least 1');
    if (!Number.isInteger(maxWaiting) || maxWaiting < 0) throw new RangeError('maxWaiting must not be negative');
  }

  get stats(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxWaiting) throw new WorkGateFullError(this.drainSeconds());
      // The slot is handed over by release(), so a newcomer can never overtake the line.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    const started = performance.now();
    try {
      return await task();
    } finally {
      const ms = performance.now() - started;
      this.averageMs = this.averageMs === 0 ? ms : this.averageMs * 0.9 + ms * 0.1;
      this.release();
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  /** Whole seconds until the current line is through, at least 1. */
  private drainSeconds(): number {
    const rounds = Math.ceil((this.waiting.length + 1) / this.concurrency);
    return Math.max(1, Math.ceil((rounds * this.averageMs) / 1000));
  }
}
