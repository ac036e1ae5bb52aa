// Warnings of a run: a stable code for logs, tests and tooling, and one sentence for people. The JSON
// output keeps printing the sentences (DESIGN §5 `warnings: string[]`); the code is for everything else.

/** Every warning a run can raise. Add a code here, next to where it is explained, before using it. */
export const WARNING_CODES = [
  'LedgerRecovered',
  // Target resolution (targets.ts, where each sentence is written):
  'EnforcementGroupMissing',
  'TargetGroupMissing',
  'TargetUserMissing',
  'BreakGlassAccountMissing',
  'ExclusionGroupMissing',
  'DisabledAccountsSkipped',
  'Fido2NotEnabled',
  'Fido2SelfServiceNotAllowed',
  'UsersOutsideFido2Scope',
] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

export interface RunWarning {
  code: WarningCode;
  message: string;
}

export function warning(code: WarningCode, message: string): RunWarning {
  return { code, message };
}
