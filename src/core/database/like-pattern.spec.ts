import { escapeLike } from './like-pattern';

describe('escapeLike', () => {
  it('should escape the LIKE wildcards and the escape character itself', () => {
    expect(escapeLike('50%_off\\now')).toBe('50\\%\\_off\\\\now');
  });

  it('should leave other text as it is', () => {
    expect(escapeLike('/0191ff6a-b4c7/ada lovelace')).toBe('/0191ff6a-b4c7/ada lovelace');
  });
});
