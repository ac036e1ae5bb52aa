// The normalized campaign: what the loader returns once defaults are filled and role names
// are mapped to template ids. Every other module reads campaigns in this shape only.

export const CAMPAIGN_STATUSES = ['notStarted', 'inProgress', 'paused', 'ended'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export const OS_PLATFORMS = ['Windows', 'macOS', 'iOS', 'Android'] as const;
export type OsPlatform = (typeof OS_PLATFORMS)[number];

export type NotificationChannel = 'teams' | 'email' | 'none';
export type PolicyState = 'reportOnly' | 'enabled';
export type EnforcementMode = 'reportOnly' | 'graduated';
export type OnboardingDelivery = 'manager' | 'helpdesk';

export interface GraceStage {
  /** Days a user has to complete the stage's action before being flagged exceededGrace. */
  gracePeriodDays: number;
  /** Days between reminders while the grace period runs. */
  reminderEveryDays: number;
}

/** The exclusion lists of a campaign; each item of them is an exemption entry. */
export const EXCLUSION_LISTS = ['breakGlass', 'users', 'groups'] as const;
export type ExclusionList = (typeof EXCLUSION_LISTS)[number];

/** spec.exclusions.retired[]: an entry taken out of its list by a reviewed change because it no longer resolves. */
export interface RetiredExclusion {
  /** The entry as it was listed (UPN or object id; object ids lower-cased by the loader). */
  entry: string;
  from: ExclusionList;
  /** Who retired it (mail address or UPN), reviewed in the pull request; recorded in the ledger. */
  by: string;
  reason: string;
}

export interface Campaign {
  apiVersion: 'passkeys/v1';
  kind: 'PasskeyCampaign';
  metadata: {
    name: string;
    description: string;
    owners: string[];
  };
  spec: {
    status: CampaignStatus;
    targets: {
      /** Role template ids (lower-case GUIDs), names already mapped. */
      roles: string[];
      includeEligible: boolean;
      /** Also target role holders whose assignment is scoped to an administrative unit (directoryScopeId ≠ "/"). */
      includeScopedRoleAssignments: boolean;
      /** Group object ids; transitive members are targeted. */
      groups: string[];
      /** UPNs or object ids, as written. */
      users: string[];
    };
    exclusions: {
      /** UPNs or object ids of emergency-access accounts: never targeted, always excluded from the CA policy. */
      breakGlass: string[];
      users: string[];
      groups: string[];
      /** true when the authors explicitly accept having no break-glass account. */
      acknowledgeNoBreakGlass: boolean;
      /** Entries retired because they no longer resolve; the accounts the ledger recorded for them stay excluded. */
      retired: RetiredExclusion[];
    };
    devices: {
      activeWithinDays: number;
      minimumOs: Record<OsPlatform, string>;
    };
    stages: {
      deviceUpdate: GraceStage;
      passkeyRegistration: GraceStage;
      enforcement: { noticeDays: number };
    };
    postponement: { enabled: boolean; days: number; maxTimes: number };
    notifications: {
      channel: NotificationChannel;
      registrationUrl: string;
      /** Mailbox (UPN or id) that sends email notifications; falls back to the deployment's configured sender. */
      sender?: string;
      /** Several sender mailboxes sharing the load (each with its own Exchange sending limits); replaces `sender`. */
      senders?: string[];
    };
    enforcement: {
      policyState: PolicyState;
      maxNewPerRun: number;
      /** reportOnly: the report-only policy covers every enforced user; graduated: users move one by one to an enabled policy. */
      mode: EnforcementMode;
      /** The evidence required before enforcing (campaign impact's gate; per user in graduated mode). */
      enableWhen: { observedDays: number; maxWouldBlockUsersPercent: number };
      /** graduated mode: at most this many users move to the enabled policy's group per run. */
      maxGraduationsPerRun: number;
    };
    /** Help for users who cannot register a passkey on their own. */
    onboarding: {
      temporaryAccessPass: {
        enabled: boolean;
        /** manager: the job creates the pass and mails it to the manager; helpdesk: a queue for the helpdesk, no pass created. */
        deliverTo: OnboardingDelivery;
        lifetimeMinutes: number;
        usableOnce: boolean;
        maxPerRun: number;
      };
    };
  };
}

export type Severity = 'error' | 'warning';

/** One finding about a campaign file, positioned in its YAML source. */
export interface Diagnostic {
  severity: Severity;
  file: string;
  /** 1-based; 0 when the finding concerns the file as a whole. */
  line: number;
  col: number;
  /** Dotted field path, e.g. `spec.stages.deviceUpdate.gracePeriodDays`; empty for the whole file. */
  path: string;
  /** Problem and fix, in one or two sentences. */
  message: string;
  /** Stable identifier of the rule that produced it, e.g. `schema/additionalProperties`, `rule/breakGlassRequired`. */
  rule: string;
}
