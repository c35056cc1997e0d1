import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { EventEmitter } from 'node:events';
import { RedisAvailability } from './redis-availability';

/** The part of an ioredis client RedisAvailability watches: its status and connection events. */
class FakeClient extends EventEmitter {
  status = 'connecting';

  ready(): void {
    this.status = 'ready';
    this.emit('ready');
  }

  drop(): void {
    this.status = 'reconnecting';
    this.emit('error', new Error('connect ECONNREFUSED'));
    this.emit('close');
  }
}

describe(RedisAvailability.name, () => {
  let client: FakeClient;
  let availability: RedisAvailability;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    client = new FakeClient();
    availability = new RedisAvailability(client as unknown as Redis);
  });

  afterEach(() => jest.useRealTimers());

  it('should trust cached copies when Redis has been up since this process connected', () => {
    client.ready();
    expect(availability.isUp).toBe(true);
    expect(availability.distrusts(60_000)).toBe(false);
  });

  it('should distrust cached copies while Redis is down and for the window after it came back', () => {
    client.ready();
    client.drop();
    expect(availability.isUp).toBe(false);
    expect(availability.distrusts(60_000)).toBe(true);
    client.ready();
    expect(availability.distrusts(60_000)).toBe(true);
    jest.advanceTimersByTime(59_999);
    expect(availability.distrusts(60_000)).toBe(true);
    jest.advanceTimersByTime(1);
    expect(availability.distrusts(60_000)).toBe(false);
  });

  it('should count Redis unreachable at start as an outage', () => {
    client.emit('error', new Error('connect ECONNREFUSED'));
    client.ready();
    expect(availability.distrusts(1000)).toBe(true);
  });

  it('should replay missed writes once Redis is back, the latest per key, and keep failed ones for the next time', async () => {
    client.ready();
    client.drop();
    const written: string[] = [];
    availability.replayWhenBack('a', () => Promise.resolve(written.push('a1')));
    availability.replayWhenBack('a', () => Promise.resolve(written.push('a2')));
    let failures = 1;
    availability.replayWhenBack('b', () =>
      failures-- > 0 ? Promise.reject(new Error('down')) : Promise.resolve(written.push('b')),
    );
    expect(written).toEqual([]);

    client.ready();
    await jest.runAllTimersAsync();
    expect(written).toEqual(['a2']);

    client.drop();
    client.ready();
    await jest.runAllTimersAsync();
    expect(written).toEqual(['a2', 'b']);
  });

  it('should replay at once when Redis is already back by the time the write failed', async () => {
    client.ready();
    const written: string[] = [];
    availability.replayWhenBack('a', () => Promise.resolve(written.push('a')));
    await jest.runAllTimersAsync();
    expect(written).toEqual(['a']);
  });
});
