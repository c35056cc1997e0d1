import { CustomerDto } from './customer.dto';
import type { Customer } from './customer.entity';
import { CUSTOMER_JSON_SCHEMA } from './customer-page.schema';

const customer: Customer = {
  id: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
  organizationId: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c89',
  departmentId: null,
  ownerId: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c90',
  name: 'Zoë "Ada" O\'Brien \\ </script> \u2028 \u0007 😀',
  email: null,
  phone: '+44 20 7946 0018',
  company: null,
  status: 'active',
  tags: ['vip', 'ünïcode "quoted"'],
  customFields: { nested: { b: 1, a: [true, null, 'x'] }, 'key with "quotes"': 1.5, empty: {} },
  version: 3,
  createdAt: new Date('2026-01-02T03:04:05.678Z'),
  updatedAt: new Date('2026-01-02T03:04:05.679Z'),
  deletedAt: null,
};

// The bytes Fastify writes with it: test/customers/customer-search.e2e-spec.ts.
describe('CUSTOMER_PAGE_ROUTE_SCHEMA', () => {
  it('should name every property CustomerDto has, in the order it writes them', () => {
    expect(Object.keys(CUSTOMER_JSON_SCHEMA.properties)).toEqual(Object.keys(CustomerDto.from(customer)));
  });
});
