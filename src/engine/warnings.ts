// Warnings of a run: a stable code for logs, tests and tooling, and one sentence for people. The JSON
// output keeps printing the sentences (`warnings: string[]`); the code is for everything else.
import type { LedgerRefusal } from './lifecycle';
import type { WarnReason } from './reasons';

/** Every warning a run can raise besides decide()'s holds (whose code is their WarnReason). */
export const WARNING_CODES = [
  // the ledger and its lock
  'LedgerRecovered',
  'LockTakenOver',
  // target resolution (engine/targets.ts, where each sentence is written)
  'EnforcementGroupMissing',
  'TargetGroupMissing',
  'TargetUserMissing',
  'DisabledAccountsSkipped',
  'Fido2NotEnabled',
  'Fido2SelfServiceNotAllowed',
  'UsersOutsideFido2Scope',
  'ScopedRoleAssignmentsSkipped',
  'Fido2ScopeGroupMissing',
  // exemption checks (engine/exemptions.ts): an entry that does not resolve; reconcile stops, plan warns
  'ExemptionUnresolved',
  // the run as a whole
  'PlanOfNotStartedCampaign',
  'OpenIntentsPending',
  'CampaignNotRunning',
  'CountsUnavailable',
  'TargetSetShrank',
  'EnforcementDeferred',
  // graduated enforcement (reconcile/run.ts): the graduation valve, and graduated users the enabled policy blocked
  'GraduationDeferred',
  'GraduatedSignInFailures',
  'NotificationsDeferred',
  'ResetPending',
  'LedgerArchived',
  // group writes
  'GroupAddFailed',
  'RolledBack',
  'RollBackFailed',
  // notifications
  'NoMailbox',
  'NotificationRefused',
  'NotificationFailed',
  'NotificationInDoubt',
  'SentItemsLookUpFailed',
  'NotificationsCarriedOver',
  'TeamsAppNotSet',
  'TeamsAppNotInstalled',
  'MailReadMissing',
  // onboarding passes (act/onboarding.ts): never carry the pass
  'OnboardingUnavailable',
  'OnboardingPermissionMissing',
  'OnboardingPassFailed',
  'OnboardingPassRevoked',
  'OnboardingPassUnconfirmed',
  'OnboardingPassExpired',
  'OnboardingQueued',
  'OnboardingHeld',
  'OnboardingDeferred',
] as const;
/** A ledger refusal (engine/lifecycle.ts) is a warning in `plan`, which writes nothing and so may go on. */
export type WarningCode = (typeof WARNING_CODES)[number] | WarnReason | LedgerRefusal;

export interface RunWarning {
  code: WarningCode;
  message: string;
  /** Who or what it is about, short (a UPN, "a UPN (403 Forbidden)"): the example when many of one code are summed up. */
  subject?: string;
}

export function warning(code: WarningCode, message: string, subject?: string): RunWarning {
  return subject === undefined ? { code, message } : { code, message, subject };
}
