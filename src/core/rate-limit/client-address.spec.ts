import { clientBucketAddress } from './client-address';

describe(clientBucketAddress.name, () => {
  it('should keep an IPv4 address as it is', () => {
    expect(clientBucketAddress('203.0.113.7')).toBe('203.0.113.7');
  });

  it('should track an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(clientBucketAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientBucketAddress('::FFFF:203.0.113.7')).toBe('203.0.113.7');
  });

  it('should put every address of one IPv6 /64 in the same bucket', () => {
    const bucket = clientBucketAddress('2001:db8:85a3:1:aaaa:bbbb:cccc:dddd');
    expect(bucket).toBe('2001:db8:85a3:1::/64');
    expect(clientBucketAddress('2001:0db8:85a3:0001::1')).toBe(bucket);
    expect(clientBucketAddress('2001:DB8:85A3:1:ffff::')).toBe(bucket);
  });

  it('should give different IPv6 /64 subnets different buckets', () => {
    expect(clientBucketAddress('2001:db8:85a3:2::1')).not.toBe(clientBucketAddress('2001:db8:85a3:1::1'));
  });

  it('should expand a compressed prefix before taking the /64', () => {
    expect(clientBucketAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientBucketAddress('::1')).toBe('0:0:0:0::/64');
    expect(clientBucketAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientBucketAddress('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });

  it('should leave something that is not an address unchanged', () => {
    expect(clientBucketAddress('not:an:address')).toBe('not:an:address');
    expect(clientBucketAddress('')).toBe('');
  });
});
