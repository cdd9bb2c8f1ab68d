/**
 * What a record of a side's records table is, in its `status` column: compared (valid, in scope,
 * sampled), sampled out, out of scope, or invalid (its key column `k` then holds the reason).
 */
export const RECORD_STATUS = { compared: 0, sampledOut: 1, outOfScope: 2, invalid: 3 } as const;
