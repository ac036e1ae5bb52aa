// Builders for engine tests: a campaign with the documented defaults, observed users, and a day-by-day
// driver that applies every decision (as a perfect applier would) and folds the ledger again.
import type { Campaign } from '../../src/campaign/types';
import {
  applyEvents,
  decide,
  decisionsToEvents,
  emptyState,
  requestPostponement,
  type CampaignState,
  type Decision,
  type Fido2Policy,
  type LedgerEvent,
  type Observation,
  type ObservedDevice,
  type ObservedUser,
} from '../../src/engine';

export const NOW = '2026-12-01T06:00:00.000Z';
const DAY = 86_400_000;

/** NOW plus `n` days (fractional days allowed). */
export function day(n: number, base = NOW): string {
  return new Date(Date.parse(base) + n * DAY).toISOString();
}

type Spec = Campaign['spec'];
export interface CampaignOverrides {
  status?: Spec['status'];
  devices?: Partial<Spec['devices']>;
  stages?: Partial<Spec['stages']>;
  postponement?: Partial<Spec['postponement']>;
  channel?: Spec['notifications']['channel'];
}

export function campaign(o: CampaignOverrides = {}): Campaign {
  return {
    apiVersion: 'passkeys/v1',
    kind: 'PasskeyCampaign',
    metadata: { name: 'admins-passkeys', description: 'Passkeys for privileged admins', owners: ['identity-team@contoso.com'] },
    spec: {
      status: o.status ?? 'inProgress',
      targets: { roles: ['62e90394-69f5-4237-9190-012177145e10'], includeEligible: true, includeScopedRoleAssignments: false, groups: [], users: [] },
      exclusions: { breakGlass: ['bg1@contoso.com'], users: [], groups: [], acknowledgeNoBreakGlass: false, retired: [] },
      devices: {
        activeWithinDays: 365,
        minimumOs: { Windows: '10.0.18362', macOS: '13.0', iOS: '17.0', Android: '14.0' },
        ...o.devices,
      },
      stages: {
        deviceUpdate: { gracePeriodDays: 14, reminderEveryDays: 3 },
        passkeyRegistration: { gracePeriodDays: 14, reminderEveryDays: 3 },
        enforcement: { noticeDays: 7 },
        ...o.stages,
      },
      postponement: { enabled: true, days: 3, maxTimes: 2, ...o.postponement },
      notifications: { channel: o.channel ?? 'teams', registrationUrl: 'https://aka.ms/mysecurityinfo' },
      enforcement: { policyState: 'reportOnly', maxNewPerRun: 50, mode: 'reportOnly', enableWhen: { observedDays: 14, maxWouldBlockUsersPercent: 1 }, maxGraduationsPerRun: 50 },
      onboarding: { temporaryAccessPass: { enabled: false, deliverTo: 'helpdesk', lifetimeMinutes: 480, usableOnce: true, maxPerRun: 20 } },
    },
  };
}

export function device(o: Partial<ObservedDevice> = {}): ObservedDevice {
  return {
    id: 'dev-1',
    displayName: 'LAPTOP-1',
    operatingSystem: 'Windows',
    operatingSystemVersion: '10.0.22631.4169',
    approximateLastSignInDateTime: day(-2),
    accountEnabled: true,
    ...o,
  };
}

export const OLD_IPHONE = (): ObservedDevice =>
  device({ id: 'dev-ios', displayName: "Ada's iPhone", operatingSystem: 'IPhone', operatingSystemVersion: '16.5' });

/** A user with a current Windows device and no passkey (needs a passkey). */
export function user(o: Partial<ObservedUser> = {}): ObservedUser {
  const id = o.userId ?? 'u-ada';
  return {
    userId: id,
    userPrincipalName: o.userPrincipalName ?? 'ada@contoso.com',
    displayName: 'Ada Lovelace',
    mail: o.userPrincipalName ?? 'ada@contoso.com',
    accountEnabled: true,
    devices: [device()],
    methodsRegistered: ['microsoftAuthenticatorPush'],
    fido2Methods: [],
    inFido2PolicyScope: true,
    inEnforcementGroup: false,
    readErrors: [],
    ...o,
  };
}

export const YUBIKEY = '2fc0579f-8113-47ea-b116-bb5a8db9202a';
export const AUTHENTICATOR = 'de1e552d-db1d-4423-a619-566b625cdc84';

/** A user with a current device and an Authenticator passkey (ready). */
export function ready(o: Partial<ObservedUser> = {}): ObservedUser {
  return user({ ...passkey(), ...o });
}

/** The passkey fields of a user who registered one (Authenticator, device-bound). */
export function passkey(aaGuid = AUTHENTICATOR): Pick<ObservedUser, 'methodsRegistered' | 'fido2Methods'> {
  return {
    methodsRegistered: ['microsoftAuthenticatorPush', 'passKeyDeviceBoundAuthenticator'],
    fido2Methods: [{ id: `fido-${aaGuid.slice(0, 4)}`, aaGuid, model: 'Microsoft Authenticator' }],
  };
}

export const NO_PASSKEY: Pick<ObservedUser, 'methodsRegistered' | 'fido2Methods'> = {
  methodsRegistered: ['microsoftAuthenticatorPush'],
  fido2Methods: [],
};

export function policy(o: Partial<Fido2Policy> & { restrict?: Fido2Policy['keyRestrictions'] } = {}): Fido2Policy {
  return {
    state: o.state ?? 'enabled',
    isSelfServiceRegistrationAllowed: true,
    keyRestrictions: o.restrict ?? o.keyRestrictions ?? { isEnforced: false, enforcementType: 'block', aaGuids: [] },
  };
}

export function observation(users: ObservedUser[], o: Partial<Observation> = {}): Observation {
  return { v: 1, campaign: 'admins-passkeys', at: NOW, fido2Policy: policy(), users, excluded: [], readErrors: [], ...o };
}

export interface DayScript {
  /** The users observed on day `d` (observation.at is the run time). */
  users: (d: number) => ObservedUser[];
  observation?: (d: number) => Partial<Observation>;
  /** Postponement requests made the evening before day `d`'s run, by userId. */
  postpone?: (d: number) => string[];
  campaign?: (d: number) => Campaign;
}

export interface RunLog {
  decisions: Decision[][];
  events: LedgerEvent[];
  state: CampaignState;
  postponeResults: Array<{ day: number; userId: string; ok: boolean; reason?: string }>;
}

/** Runs days 0..days-1 at NOW + d, applying every decision; postponements happen at NOW + d - 0.5. */
export function runDays(c: Campaign, days: number, script: DayScript): RunLog {
  const state = emptyState();
  const events: LedgerEvent[] = [];
  const log: RunLog = { decisions: [], events, state, postponeResults: [] };
  for (let d = 0; d < days; d++) {
    const camp = script.campaign ? script.campaign(d) : c;
    for (const userId of script.postpone?.(d) ?? []) {
      const r = requestPostponement(camp, state, userId, day(d - 0.5));
      log.postponeResults.push(r.ok ? { day: d, userId, ok: true } : { day: d, userId, ok: false, reason: r.reason });
      if (r.ok) {
        events.push(r.event);
        applyEvents(state, [r.event]);
      }
    }
    const now = day(d);
    const obs = observation(script.users(d), { at: now, ...script.observation?.(d) });
    const decisions = decide(camp, obs, state, now);
    log.decisions.push(decisions);
    const evs = decisionsToEvents(decisions, { runId: `run-${d}`, now });
    events.push(...evs);
    applyEvents(state, evs);
  }
  return log;
}

/** Compact "type:reason" form of a decision list, for readable expectations. */
export function brief(ds: readonly Decision[]): string[] {
  return ds.map((d) => `${d.type}:${d.reason}`);
}

/** Days (indexes) on which some decision of the given type and reason was made. */
export function daysWith(log: RunLog, type: Decision['type'], reason?: string): number[] {
  const out: number[] = [];
  log.decisions.forEach((ds, i) => {
    if (ds.some((d) => d.type === type && (reason === undefined || d.reason === reason))) out.push(i);
  });
  return out;
}
