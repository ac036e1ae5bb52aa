// The pure stage engine's public API: readiness, the ledger fold, decide, postponement, projections.
export * from './types';
export * from './readiness';
export * from '../ledger/events';
export * from './state';
export * from './decide';
export * from './postpone';
export * from './estimate';
export { DAY_MS, dayOf, dateOfDay, addDays } from './time';
export * from './onboarding';
