// Public surface of the ledger.
export * from './events';
export * from './codec';
export * from './errors';
export * from './store';
export * from './overview';
export * from './file/store';
export * from './chain';
