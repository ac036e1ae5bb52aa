// The campaign's closed vocabularies. They appear in `--json` output, status JSON and ledger lines on
// disk, so the engine, the ledger and the reports all take them from here.

/**
 * The per-user stages, in campaign order. `graduated` exists only in campaigns with spec.enforcement.mode graduated:
 * an enforced user whose own sign-ins qualified them moves to the enabled policy's group (and stays in the enforcement group).
 */
export const STAGES = ['deviceUpdate', 'passkeyRegistration', 'enforcementNotice', 'enforced', 'graduated'] as const;
export type Stage = (typeof STAGES)[number];

/** Notification kinds: the stage's entry notice, its reminders, and the one sent on enforcement. */
export const NOTIFICATION_KINDS = [
  'deviceUpdate',
  'deviceUpdateReminder',
  'passkeyRegistration',
  'passkeyRegistrationReminder',
  'enforcementNotice',
  'enforcementNoticeReminder',
  'enforced',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Conditions reported once per episode (raised, then cleared when they stop holding). */
export const ALERT_KINDS = ['EnforcedWithoutPasskey', 'OutsideFido2PolicyScope', 'NotInEnforcementGroup', 'Unreachable', 'AccountDisabled', 'GraduatedSignInFailures'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
