/** Jobs of the `customers` queue and their payloads. */
export type CustomersJobs = {
  import: { importId: string };
};

export const CUSTOMERS_JOB_NAMES = ['import'] as const satisfies readonly (keyof CustomersJobs)[];
