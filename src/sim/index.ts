// The Graph emulator (simulated tenant) and the tenant generator.
export * from './clock';
export * from './fixture';
export * from './generate';
export * from './server';
export * from './cli';
export { GRAPH_LIMITS, resourceUnits, type ThrottleLimits, type WindowLimit } from './throttle';
export { PASSKEY_METHODS, TenantState, passkeyMethodsFor, type TenantRemoval } from './tenant-state';
export type { SimNotification } from './routes';
