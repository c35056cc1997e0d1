import pino from 'pino';
import { runWithContext } from '../context/request-context';
import { contextFields, REDACTED_PATHS } from './logging.module';

describe(contextFields.name, () => {
  it('should add nothing outside a request or job', () => {
    expect(contextFields()).toEqual({});
  });

  it('should add the request id and user of the request a line is written in', () => {
    expect(runWithContext({ requestId: 'req-1', userId: 'user-1', ip: '10.0.0.1' }, contextFields)).toEqual({
      requestId: 'req-1',
      userId: 'user-1',
    });
  });

  it('should add the job id and queue in the worker', () => {
    expect(runWithContext({ requestId: 'req-2', jobId: '7', queue: 'mail' }, contextFields)).toEqual({
      requestId: 'req-2',
      jobId: '7',
      queue: 'mail',
    });
  });

  it('should still redact secrets of a line written with the mixin, which adds the request fields', () => {
    const lines: string[] = [];
    const logger = pino(
      { mixin: contextFields, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
      { write: (line: string) => lines.push(line) },
    );
    runWithContext({ requestId: 'req-3', userId: 'user-3' }, () =>
      logger.info({ body: { password: 'p4ss', email: 'ada@example.test' } }, 'login'),
    );
    expect(lines.join('')).not.toContain('p4ss');
    expect(JSON.parse(lines[0])).toMatchObject({
      requestId: 'req-3',
      userId: 'user-3',
      body: { password: '[redacted]', email: 'ada@example.test' },
    });
  });
});
