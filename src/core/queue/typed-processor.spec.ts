import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { currentContext, type RequestContext } from '../context/request-context';
import type { JobEnvelope } from './job-envelope';
import { TypedProcessor, type JobHandlers } from './typed-processor';

// A type alias, not an interface: an interface would need an index signature to satisfy Record<string, unknown>.
type DemoJobs = {
  greet: { name: string };
  count: { n: number };
};

class CompleteProcessor extends TypedProcessor<DemoJobs> {
  readonly seen: { name: string; payload: unknown; context: RequestContext | undefined; job: Job }[] = [];
  protected readonly jobNames = ['greet', 'count'] as const;
  protected readonly handlers: JobHandlers<DemoJobs> = {
    greet: (payload, job) => this.record('greet', payload, job, `hello ${payload.name}`),
    count: (payload, job) => this.record('count', payload, job, payload.n + 1),
  };

  private async record<R>(name: string, payload: unknown, job: Job, result: R): Promise<R> {
    // Let the handler cross an await: the context must survive it.
    await Promise.resolve();
    this.seen.push({ name, payload, context: currentContext(), job });
    return result;
  }
}

/** Declares `count` but forgot its handler (the compiler would catch it; the cast mimics a runtime gap). */
class IncompleteProcessor extends TypedProcessor<DemoJobs> {
  protected readonly jobNames = ['greet', 'count'] as const;
  protected readonly handlers = {
    greet: () => Promise.resolve('hello'),
  } as unknown as JobHandlers<DemoJobs>;
}

function fakeJob<P>(name: string, payload: P, requestId: string | null): Job<JobEnvelope<P>> {
  const data: JobEnvelope<P> = { payload, requestId };
  return { name, id: '17', data, queueName: 'system', attemptsMade: 0 } as unknown as Job<JobEnvelope<P>>;
}

describe(TypedProcessor.name, () => {
  beforeAll(() => {
    // process() logs start and end of every job; keep the test output clean.
    Logger.overrideLogger(false);
  });

  describe('onModuleInit', () => {
    it('should throw naming the processor and the missing job when a declared job has no handler', () => {
      const processor = new IncompleteProcessor();
      expect(() => processor.onModuleInit()).toThrow(new Error('IncompleteProcessor has no handler for job(s): count'));
    });

    it('should not throw when every declared job has a handler', () => {
      expect(() => new CompleteProcessor().onModuleInit()).not.toThrow();
    });
  });

  describe('process', () => {
    it('should throw an UnrecoverableError naming the job when the job name has no handler', async () => {
      const processor = new CompleteProcessor();
      const error: unknown = await processor.process(fakeJob('explode', {}, 'req-1')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnrecoverableError);
      expect((error as Error).message).toContain('"explode"');
      expect(processor.seen).toEqual([]);
    });

    it('should run the matching handler with the payload and return its result when the job is known', async () => {
      const processor = new CompleteProcessor();
      const job = fakeJob('count', { n: 41 }, 'req-1');
      await expect(processor.process(job)).resolves.toBe(42);
      expect(processor.seen).toHaveLength(1);
      expect(processor.seen[0]).toMatchObject({ name: 'count', payload: { n: 41 } });
      expect(processor.seen[0].job).toBe(job);
    });

    it("should run the handler in a context carrying the job's request id, job id and queue when it has one", async () => {
      const processor = new CompleteProcessor();
      await processor.process(fakeJob('greet', { name: 'Ada' }, 'req-from-api'));
      expect(processor.seen[0].context).toEqual({ requestId: 'req-from-api', jobId: '17', queue: 'system' });
      // The context belongs to the job only.
      expect(currentContext()).toBeUndefined();
    });

    it('should give the handler a generated job request id when the job carries none', async () => {
      const processor = new CompleteProcessor();
      await processor.process(fakeJob('greet', { name: 'Ada' }, null));
      await processor.process(fakeJob('greet', { name: 'Bob' }, null));
      const [first, second] = processor.seen.map((entry) => entry.context?.requestId);
      expect(first).toMatch(/^job-[0-9a-f-]{36}$/);
      expect(second).toMatch(/^job-[0-9a-f-]{36}$/);
      expect(first).not.toBe(second);
    });

    it('should keep the contexts of concurrent jobs apart when they interleave', async () => {
      const processor = new CompleteProcessor();
      await Promise.all([
        processor.process(fakeJob('greet', { name: 'A' }, 'req-a')),
        processor.process(fakeJob('greet', { name: 'B' }, 'req-b')),
      ]);
      const byName = Object.fromEntries(
        processor.seen.map((entry) => [(entry.payload as { name: string }).name, entry.context?.requestId]),
      );
      expect(byName).toEqual({ A: 'req-a', B: 'req-b' });
    });
  });
});
