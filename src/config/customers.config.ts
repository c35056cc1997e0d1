import { int } from './env-var';

export const customersEnv = {
  CUSTOMER_IMPORT_MAX_BYTES: int({
    default: '5242880',
    min: 1024,
    max: 104857600,
    description: 'Largest CSV body POST /customers/import accepts (bytes); larger bodies get 413',
  }),
};
