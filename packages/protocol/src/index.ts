// Public surface of @logbook/protocol: wire schemas, the error catalog, canonical JSON and Merkle code. No I/O.
export * from './errors.ts';
export * from './integrity.ts';
export * from './schemas/auth.ts';
export * from './schemas/common.ts';
export * from './schemas/events.ts';
export * from './schemas/integrity.ts';
export * from './schemas/logs.ts';
export * from './schemas/retention.ts';
export * from './schemas/tail.ts';
