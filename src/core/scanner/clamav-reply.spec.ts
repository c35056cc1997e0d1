import { parseClamdReply, TOO_LARGE } from './clamav-reply';

describe(parseClamdReply.name, () => {
  it('should be clean only when the reply is exactly "stream: OK"', () => {
    expect(parseClamdReply('stream: OK')).toEqual({ status: 'clean' });
    for (const almost of ['stream: OK\n', ' stream: OK', 'stream: ok', 'OK', 'stream: OK ERROR', '']) {
      expect(parseClamdReply(almost)).toMatchObject({ status: 'error' });
    }
  });

  it('should report the signature when clamd found one', () => {
    expect(parseClamdReply('stream: Atrium.Test.EICAR.UNOFFICIAL FOUND')).toEqual({
      status: 'infected',
      signature: 'Atrium.Test.EICAR.UNOFFICIAL',
    });
    expect(parseClamdReply('stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND')).toEqual({
      status: 'infected',
      signature: 'Heuristics.Limits.Exceeded.MaxFileSize',
    });
  });

  it('should be an error naming the size limit when clamd refuses a stream beyond its StreamMaxLength', () => {
    expect(parseClamdReply('INSTREAM size limit exceeded. ERROR')).toEqual({
      status: 'error',
      reason: `${TOO_LARGE} (clamd: INSTREAM size limit exceeded. ERROR)`,
    });
  });

  it('should quote any other ERROR reply', () => {
    expect(parseClamdReply("stream: Can't allocate memory ERROR")).toEqual({
      status: 'error',
      reason: 'clamd: "stream: Can\'t allocate memory ERROR"',
    });
  });

  it('should be an error with the reply quoted and shortened when clamd says something unexpected', () => {
    expect(parseClamdReply('UNKNOWN COMMAND')).toEqual({
      status: 'error',
      reason: 'unexpected reply from clamd: "UNKNOWN COMMAND"',
    });
    expect(parseClamdReply('stream:  FOUND')).toMatchObject({ status: 'error' });
    const long = parseClamdReply(`\u0001${'x'.repeat(1000)}`);
    expect(long).toMatchObject({ status: 'error', reason: expect.stringContaining('\\u0001') });
    expect(long.status === 'error' && long.reason.length).toBeLessThan(260);
  });
});
