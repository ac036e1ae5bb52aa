// Onboarding with a Temporary Access Pass: who cannot register a passkey on their own. Pure: reads the observation
// and the folded state, never Graph.
import type { Campaign } from '../campaign/types';
import type { OnboardingQueueReason } from '../ledger/events';
import type { CampaignState, UserState } from './state';
import { DAY_MS } from './time';
import type { ObservedUser } from './types';

/**
 * `userRegistrationDetails.methodsRegistered` values that can satisfy multifactor authentication, so a user who
 * has one can sign in strongly and register a passkey without help (compared case-insensitively). Not here:
 * `email` and `securityQuestion` (self-service password reset only), `temporaryAccessPass` (temporary: it does not
 * let the user sign in strongly once it expires).
 */
export const MFA_CAPABLE_METHODS: readonly string[] = [
  'mobilePhone',
  'alternateMobilePhone',
  'officePhone',
  'sms',
  'microsoftAuthenticatorPush',
  'microsoftAuthenticatorPasswordless',
  'softwareOneTimePasscode',
  'hardwareOneTimePasscode',
  'windowsHelloForBusiness',
  'fido2SecurityKey',
  'passKeyDeviceBound',
  'passKeyDeviceBoundAuthenticator',
  'passKeyDeviceBoundWindowsHello',
  'passKeySynced',
  'macOsSecureEnclaveKey',
  'externalAuthMethod',
  'x509CertificateMultiFactor',
];
const MFA_CAPABLE_LOWER = new Set(MFA_CAPABLE_METHODS.map((m) => m.toLowerCase()));

/** The user has a registered method that can satisfy MFA (so they can register a passkey on their own). */
export function hasMfaCapableMethod(ou: ObservedUser): boolean {
  return ou.methodsRegistered.some((m) => MFA_CAPABLE_LOWER.has(m.toLowerCase()));
}

/**
 * A user who needs an onboarding pass: in the campaign at passkeyRegistration, enabled, in the FIDO2 policy's
 * scope (known, not assumed), read without errors, and with no registered method that can satisfy MFA (nor a
 * fido2 method). Break-glass and excluded accounts are never in the observation's users (observe leaves them out),
 * and a user without campaign state is not in the campaign: both give false.
 */
export function needsOnboardingPass(ou: ObservedUser, u: UserState | undefined): boolean {
  if (!u || u.stage !== 'passkeyRegistration' || u.left !== null) return false;
  if (!ou.accountEnabled || ou.inFido2PolicyScope !== true || ou.readErrors.length > 0) return false;
  if (ou.fido2Methods !== null && ou.fido2Methods.length > 0) return false;
  return !hasMfaCapableMethod(ou);
}

/** The tenant's Temporary Access Pass method configuration, reduced to what the job checks. */
export interface TapPolicy {
  state: 'enabled' | 'disabled';
  minimumLifetimeInMinutes: number;
  maximumLifetimeInMinutes: number;
  /** true: the policy allows one-time passes only. */
  isUsableOnce: boolean;
}

/** A user's manager as `/users/{id}/manager` returned it. */
export interface ObservedManager {
  id: string;
  userPrincipalName: string;
  displayName: string;
  mail: string | null;
  /** null when Graph did not return it. */
  accountEnabled: boolean | null;
}

/** Per candidate: the manager, none (404), or why the read failed. */
export type ManagerRead = { kind: 'manager'; manager: ObservedManager } | { kind: 'none' } | { kind: 'error'; cause: string };

export interface OnboardingUser {
  userId: string;
  userPrincipalName: string;
  displayName: string;
}

/** What the run does about onboarding passes: pure output, carried out by act/onboarding.ts. */
export interface OnboardingPlan {
  /** Users who need a pass (whatever the campaign's setting): the count plan and status report. */
  needing: number;
  /** Users eligible for a pass this run (needing one, none issued in their current grace period), in a stable order. */
  eligible: OnboardingUser[];
  /** Issued passes that expired while the user still needs one: reported once each. */
  expired: Array<OnboardingUser & { methodId: string; expiresAt: string }>;
}

/** Days of one grace period of passkeyRegistration: one pass per user per period. */
function gracePeriodMs(campaign: Campaign): number {
  return Math.max(1, campaign.spec.stages.passkeyRegistration.gracePeriodDays) * DAY_MS;
}

/**
 * Who needs a pass, who may get one this run, and which passes expired unused. `state` is the campaign state
 * after this run's decisions (a user who registered a passkey or moved on does not need one). A user may get a pass
 * when none was issued to them within one grace period of passkeyRegistration before `now`.
 */
export function planOnboarding(campaign: Campaign, users: readonly ObservedUser[], state: CampaignState, now: string): OnboardingPlan {
  const nowMs = Date.parse(now);
  const period = gracePeriodMs(campaign);
  const eligible: OnboardingUser[] = [];
  const expired: OnboardingPlan['expired'] = [];
  let needing = 0;
  for (const ou of users) {
    const u = state.users[ou.userId];
    if (!needsOnboardingPass(ou, u)) continue;
    needing++;
    const who = { userId: ou.userId, userPrincipalName: ou.userPrincipalName, displayName: ou.displayName };
    const o = u!.onboarding;
    if (o?.methodId && o.expiresAt && !o.expiredReported && Date.parse(o.expiresAt) <= nowMs) expired.push({ ...who, methodId: o.methodId, expiresAt: o.expiresAt });
    if (o?.passIssuedAt && nowMs - Date.parse(o.passIssuedAt) < period) continue;
    eligible.push(who);
  }
  eligible.sort((a, b) => (a.userPrincipalName < b.userPrincipalName ? -1 : a.userPrincipalName > b.userPrincipalName ? 1 : 0));
  return { needing, eligible, expired };
}

/**
 * Why the tenant's TAP policy does not allow the campaign's pass; null when it does. Checked before any pass is
 * created, so a conflict is one warning, not a refused request per user.
 */
export function tapPolicyConflict(policy: TapPolicy, tap: Campaign['spec']['onboarding']['temporaryAccessPass']): string | null {
  if (policy.state !== 'enabled') return 'the Temporary Access Pass method is disabled in the tenant\'s authentication methods policy';
  if (tap.lifetimeMinutes < policy.minimumLifetimeInMinutes || tap.lifetimeMinutes > policy.maximumLifetimeInMinutes) {
    return `spec.onboarding.temporaryAccessPass.lifetimeMinutes is ${tap.lifetimeMinutes}, outside the tenant's Temporary Access Pass limits (${policy.minimumLifetimeInMinutes} to ${policy.maximumLifetimeInMinutes} minutes)`;
  }
  if (policy.isUsableOnce && !tap.usableOnce) return 'spec.onboarding.temporaryAccessPass.usableOnce is false, but the tenant\'s Temporary Access Pass policy allows one-time passes only';
  return null;
}

/** Where a candidate's pass goes: a manager who can receive it, or the helpdesk queue and why; `hold` when the fact is not established. */
export type PassRoute =
  | { route: 'manager'; manager: ObservedManager }
  | { route: 'queue'; reason: OnboardingQueueReason; detail: string }
  | { route: 'hold'; detail: string };

/** Never the user's own account, never a disabled account or one without a mailbox; no manager → helpdesk. */
export function routePass(user: OnboardingUser, read: ManagerRead | undefined, userMail?: string | null): PassRoute {
  if (!read) return { route: 'hold', detail: 'the manager was not read' };
  if (read.kind === 'error') return { route: 'hold', detail: `the manager could not be read (${read.cause})` };
  if (read.kind === 'none') return { route: 'queue', reason: 'noManager', detail: 'no manager is set in Entra ID' };
  const m = read.manager;
  if (m.id.toLowerCase() === user.userId.toLowerCase()) return { route: 'queue', reason: 'noManager', detail: 'the manager set in Entra ID is the user\'s own account' };
  const own = new Set([user.userPrincipalName.toLowerCase(), (userMail ?? '').toLowerCase()]);
  if (m.mail && own.has(m.mail.toLowerCase())) return { route: 'queue', reason: 'noManager', detail: 'the manager\'s mailbox set in Entra ID is the user\'s own' };
  if (m.accountEnabled === false) return { route: 'queue', reason: 'managerNoMailbox', detail: `the manager ${m.userPrincipalName} is disabled` };
  if (!m.mail) return { route: 'queue', reason: 'managerNoMailbox', detail: `the manager ${m.userPrincipalName} has no mailbox` };
  return { route: 'manager', manager: m };
}
