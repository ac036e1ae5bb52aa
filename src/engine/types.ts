// The Observation contract: what the Graph "observe" step hands to the pure engine. Plain JSON
// (arrays and records, no Map, no Date) so a run's observation can be saved and replayed.

import type { Stage } from '../contracts/vocabulary';

export { STAGES, type Stage } from '../contracts/vocabulary';

/** Stages a user can postpone (the deadline of each moves by `postponement.days`). */
export const POSTPONABLE_STAGES: readonly Stage[] = ['deviceUpdate', 'passkeyRegistration', 'enforcementNotice'];

/** A device from `/devices` whose registeredOwners include the user. */
export interface ObservedDevice {
  id: string;
  displayName: string;
  /** As Graph reports it: `Windows`, `IPhone`, `MacMDM`, `AndroidForWork`, … (normalised by readiness). */
  operatingSystem: string | null;
  operatingSystemVersion: string | null;
  /** ISO time; null when Entra never recorded a sign-in (the device then counts as inactive). */
  approximateLastSignInDateTime: string | null;
  accountEnabled: boolean;
}

/** One entry of `/users/{id}/authentication/fido2Methods`. */
export interface ObservedFido2Method {
  id: string;
  /** Authenticator model id; null when Graph did not report one. */
  aaGuid: string | null;
  model?: string | null;
  displayName?: string | null;
  createdDateTime?: string | null;
}

/**
 * One targeted user, as observed this run. Its arrays are read-only: an empty one, and a list of registered methods,
 * may be shared by many users (and frozen); to change one, assign a new array.
 */
export interface ObservedUser {
  userId: string;
  userPrincipalName: string;
  displayName: string;
  /** The mailbox's address (Graph `mail`); null when the user has no mailbox. Email goes here, never to the UPN. */
  mail: string | null;
  accountEnabled: boolean;
  devices: ObservedDevice[];
  /** `userRegistrationDetails.methodsRegistered`, verbatim. */
  methodsRegistered: string[];
  /** null when the fido2Methods were not read (not the same as "none"). */
  fido2Methods: ObservedFido2Method[] | null;
  /** false when the FIDO2 policy's targets exclude the user; null when observe could not tell. */
  inFido2PolicyScope: boolean | null;
  /** Member of the campaign's enforcement group right now. */
  inEnforcementGroup: boolean;
  /** Member of the graduated group right now; present only for campaigns with spec.enforcement.mode graduated. */
  inGraduatedGroup?: boolean;
  /** Non-empty when any Graph read for this user failed: the user makes no move this run. */
  readErrors: string[];
}

export type ExclusionKind = 'breakGlass' | 'user' | 'group';

/** A user who matches the targets but is excluded by the campaign: lets decide say why someone left. */
export interface ObservedExclusion {
  userId: string;
  userPrincipalName: string;
  exclusion: ExclusionKind;
}

/** `authenticationMethodConfigurations/fido2`, reduced to what the engine uses. */
export interface Fido2Policy {
  state: 'enabled' | 'disabled';
  isSelfServiceRegistrationAllowed: boolean;
  keyRestrictions: {
    isEnforced: boolean;
    enforcementType: 'allow' | 'block';
    aaGuids: string[];
  };
}

/**
 * One user's sign-ins in the graduation window, as far as the campaign's two Conditional Access policies are
 * concerned: the report-only policy (campaign's policy) and the enabled policy of the graduated group.
 */
export interface ObservedSignIns {
  signIns: number;
  /** Results for the report-only policy: satisfied (phishing-resistant) and would have blocked. */
  reportOnlySuccess: number;
  reportOnlyFailure: number;
  /** Sign-ins the enabled (graduated) policy blocked. */
  failure: number;
  /** Applications and client types of the sign-ins the enabled policy blocked, sorted. */
  failureApps: string[];
  failureClientApps: string[];
  /**
   * Still blocked: the newest sign-in the enabled policy evaluated was blocked, or a legacy client (which can never
   * satisfy it) was. A block followed by a successful sign-in is an interruption the user got past, not a lockout.
   */
  blocked: boolean;
}

/**
 * What graduated enforcement observed (campaigns with spec.enforcement.mode graduated only). Not available when a
 * fact could not be established (sign-ins unreadable, Conditional Access data omitted, a policy missing): nobody
 * graduates, nothing is cleared, and `cause` says why and what to grant or deploy.
 */
export type GraduationObservation =
  | {
      available: true;
      observedDays: number;
      /** The sign-in window read: [from, to). */
      from: string;
      to: string;
      reportOnlyPolicyId: string;
      enabledPolicyId: string;
      /** By user id (as observed), only targeted users with at least one sign-in in the window. */
      users: Record<string, ObservedSignIns>;
    }
  | { available: false; cause: string };

export interface Observation {
  /** Schema version of this shape. */
  v: 1;
  campaign: string;
  /** When observe finished reading (ISO). */
  at: string;
  /** null when the policy was not read; decide then does not treat anyone as blocked by it. */
  fido2Policy: Fido2Policy | null;
  /** The target set after exclusions, as computed by observe. */
  users: ObservedUser[];
  /** Targeted-but-excluded users, so that leaving the campaign can name the exclusion. */
  excluded: ObservedExclusion[];
  /** Campaign-level read failures (target set, policy, group): non-empty means no user moves this run. */
  readErrors: string[];
  /** Graduated campaigns only: the sign-in evidence per user, or why there is none this run. */
  graduation?: GraduationObservation;
}
