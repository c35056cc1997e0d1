import { jobOptions } from './job-outbox';

describe(jobOptions.name, () => {
  const now = Date.parse('2026-12-01T10:00:00.000Z');

  it('should delay a job until its run time when that is still ahead', () => {
    const runAt = new Date(now + 60_000);
    expect(jobOptions({ jobId: 'job-1', options: {}, runAt }, now)).toEqual({ jobId: 'job-1', delay: 60_000 });
  });

  it('should not delay a job whose run time passed while it waited in the outbox', () => {
    const runAt = new Date(now - 5_000);
    expect(jobOptions({ jobId: 'job-1', options: {}, runAt }, now)).toEqual({ jobId: 'job-1', delay: 0 });
  });

  it("should keep the caller's other options and always set the row's job id when the job was not delayed", () => {
    const options = { attempts: 3, removeOnComplete: true };
    expect(jobOptions({ jobId: 'outbox-1', options, runAt: null }, now)).toEqual({ ...options, jobId: 'outbox-1' });
  });
});
