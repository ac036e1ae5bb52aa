// Public surface of the state layer.
export * from './errors';
export * from './store';
export * from './file/store';
