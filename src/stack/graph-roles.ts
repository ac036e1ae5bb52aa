// The scheduler identity's Graph permissions live in campaign/graph-roles.ts, so `campaign doctor` can check
// them without loading the stack; this path stays for the stack and the policy pack.
export * from '../campaign/graph-roles';
