// Sign-ins the way Entra records them: POST /_sim/sign-ins (and `sim generate`) say who signed in, when, to which
// application, through which client and with which method; this module evaluates the tenant's Conditional Access
// policies for that sign-in and builds the Graph signIn object /auditLogs/signIns serves.
//
// Sources (repository microsoftgraph/microsoft-graph-docs-contrib):
// - the signIn shape: api-reference/v1.0/resources/signin.md (v1.0 properties), api-reference/beta/api/signin-list.md
//   (beta adds authenticationDetails, authenticationRequirement; beta resources/authenticationdetail.md);
// - appliedConditionalAccessPolicy.result: api-reference/v1.0/resources/appliedconditionalaccesspolicy.md;
// - conditions and grant controls: resources/conditionalaccesspolicy.md, conditionalaccessusers.md,
//   conditionalaccessapplications.md (`All`, `None`, `Office365`), conditionalaccessgrantcontrols.md
//   (builtInControls, authenticationStrength), conditionalaccessclientapp.md (clientAppTypes);
// - clientAppUsed: resources/signin.md: "Modern authentication clients include Browser, modern clients. Legacy
//   authentication clients include Exchange ActiveSync, IMAP, MAPI, SMTP, POP, and other clients."
//
// How a policy's result follows (Microsoft Entra's report-only mode: "Report-only: Success" = conditions and required
// grant controls satisfied; "Report-only: Failure" = conditions satisfied but a non-interactive control not, such as
// block; "Report-only: User action required" = the user would have had to do more, such as MFA; "Report-only: Not
// applied" = not all conditions satisfied). Each grant control of a policy in scope is one of:
//   satisfied   — the method used meets it (a passkey meets MFA and every built-in strength; password + MFA meets MFA
//                 and the "Multifactor authentication" strength, not "Phishing-resistant MFA");
//   interactive — the user could meet it by doing more in this sign-in: a modern client and a method they have
//                 registered (MFA after a password; the Phishing-resistant strength when they have a passkey);
//   impossible  — block; any interactive control on a legacy client (legacy protocols cannot prompt, so they can
//                 do neither MFA nor passkeys); a passkey strength for a user with no passkey registered; device and
//                 app controls the emulator does not model.
// AND takes the worst of its controls, OR the best. Then, by policy state:
//   enabled:                           satisfied → success, otherwise failure (the sign-in fails);
//   enabledForReportingButNotEnforced: satisfied → reportOnlySuccess, interactive → reportOnlyInterrupted,
//                                      impossible → reportOnlyFailure;
//   out of scope (users, applications or client app types): notApplied / reportOnlyNotApplied; disabled: notEnabled.
// Conditions the emulator does not model (platforms, locations, risk levels, devices) are taken as met.
import { createHash } from 'node:crypto';
import type { FixtureAuthenticationDetail, FixtureConditionalAccessPolicy, FixtureSignIn, FixtureUser } from './fixture';
import type { TenantState } from './tenant-state';
import { AUTHENTICATOR_AAGUIDS, SYNCED_AAGUIDS, WINDOWS_HELLO_AAGUIDS } from './tenant-state';
import { tapSignInProblem, useTap } from './temporary-access-pass';

/** What a simulated user did to sign in. */
export const SIGN_IN_METHODS = ['passkey', 'password', 'passwordAndMfa', 'temporaryAccessPass'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

/** clientAppUsed values as Entra writes them, each with the clientAppTypes condition it falls under. */
export const CLIENT_APPS = {
  Browser: 'browser',
  'Mobile Apps and Desktop clients': 'mobileAppsAndDesktopClients',
  'Exchange ActiveSync': 'exchangeActiveSync',
  IMAP4: 'other',
  POP3: 'other',
  SMTP: 'other',
  'Authenticated SMTP': 'other',
  'MAPI Over HTTP': 'other',
  'Exchange Web Services': 'other',
  'Exchange Online PowerShell': 'other',
  'Outlook Anywhere (RPC over HTTP)': 'other',
  AutoDiscover: 'other',
  'Offline Address Book': 'other',
  'Reporting Web Services': 'other',
  'Universal Outlook': 'other',
  'Other clients': 'other',
} as const;
export type ClientAppUsed = keyof typeof CLIENT_APPS;

/** Browser and modern clients; everything else is a legacy protocol (resources/signin.md, clientAppUsed). */
export function isModernClient(c: ClientAppUsed): boolean {
  return c === 'Browser' || c === 'Mobile Apps and Desktop clients';
}

interface KnownApp {
  appId: string;
  /** Counted in the `Office365` application group of a policy (conditionalaccessapplications.md). */
  office365: boolean;
}
/** First-party applications by display name, with their well-known app ids. */
export const KNOWN_APPS: Record<string, KnownApp> = {
  'Office 365 Exchange Online': { appId: '00000002-0000-0ff1-ce00-000000000000', office365: true },
  'Office 365 SharePoint Online': { appId: '00000003-0000-0ff1-ce00-000000000000', office365: true },
  'Microsoft Teams': { appId: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', office365: true },
  'Microsoft Office': { appId: 'd3590ed6-52b3-4102-aeff-aad2292ab01c', office365: true },
  'Outlook Mobile': { appId: '27922004-5251-4030-b22d-91ecd9a37ea4', office365: true },
  'Azure Portal': { appId: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c', office365: false },
  'Graph Explorer': { appId: 'de8bc8b5-d9f9-48b1-a8ad-b748da725064', office365: false },
};

const OFFICE365_APP_IDS: ReadonlySet<string> = new Set(Object.values(KNOWN_APPS).flatMap((k) => (k.office365 ? [k.appId] : [])));

/** The built-in authentication strengths (resources/authenticationstrengthpolicy.md), by object id. */
const STRENGTH = {
  mfa: '00000000-0000-0000-0000-000000000002',
  passwordlessMfa: '00000000-0000-0000-0000-000000000003',
  phishingResistant: '00000000-0000-0000-0000-000000000004',
} as const;

type Verdict = 'satisfied' | 'interactive' | 'impossible';
const RANK: Record<Verdict, number> = { satisfied: 0, interactive: 1, impossible: 2 };

/** Everything a policy's evaluation needs to know about one sign-in. */
export interface SignInSubject {
  userId: string;
  /** `Guest` for guests (GuestsOrExternalUsers). */
  userType?: string | null;
  /** Transitive membership. */
  inGroup(groupId: string): boolean;
  /** An active assignment of the role (by template id), directly or through a role-assignable group. */
  hasRole(roleTemplateId: string): boolean;
  appId: string;
  clientApp: ClientAppUsed;
  method: SignInMethod;
  /** The user has a passkey (a FIDO2 method) registered. */
  passkeyRegistered: boolean;
}

export type CaResult = 'success' | 'failure' | 'notApplied' | 'notEnabled' | 'reportOnlySuccess' | 'reportOnlyFailure' | 'reportOnlyNotApplied' | 'reportOnlyInterrupted';

export interface PolicyOutcome {
  result: CaResult;
  /** The grant controls of a policy in scope, as sign-in logs name them; empty when it did not apply. */
  enforcedGrantControls: string[];
  /** For an applied policy: how far the sign-in met it. */
  verdict?: Verdict;
}

const has = (list: readonly string[] | null | undefined, id: string) => (list ?? []).some((x) => x.toLowerCase() === id.toLowerCase());

function inUserScope(p: FixtureConditionalAccessPolicy, s: SignInSubject): boolean {
  const u = p.conditions?.users;
  if (!u) return false;
  const guest = (s.userType ?? '').toLowerCase() === 'guest';
  const matches = (users: readonly string[] | null | undefined, groups: readonly string[] | null | undefined, roles: readonly string[] | null | undefined) =>
    has(users, 'All') ||
    has(users, s.userId) ||
    (guest && has(users, 'GuestsOrExternalUsers')) ||
    (groups ?? []).some((g) => s.inGroup(g)) ||
    (roles ?? []).some((r) => s.hasRole(r));
  if (!matches(u.includeUsers, u.includeGroups, u.includeRoles)) return false;
  return !matches(u.excludeUsers, u.excludeGroups, u.excludeRoles);
}

function inAppScope(p: FixtureConditionalAccessPolicy, s: SignInSubject): boolean {
  const a = p.conditions?.applications;
  if (!a) return false;
  const office365 = OFFICE365_APP_IDS.has(s.appId.toLowerCase());
  const matches = (list: readonly string[] | null | undefined) => has(list, 'All') || has(list, s.appId) || (office365 && has(list, 'Office365'));
  return matches(a.includeApplications) && !matches(a.excludeApplications);
}

function inClientScope(p: FixtureConditionalAccessPolicy, s: SignInSubject): boolean {
  const types = p.conditions?.clientAppTypes ?? [];
  if (types.length === 0 || has(types, 'all')) return true;
  const type = CLIENT_APPS[s.clientApp];
  return has(types, type) || (type === 'exchangeActiveSync' && has(types, 'easSupported'));
}

/** A control that asks for MFA or a passkey: met by the method, or by doing more on a modern client. */
function strengthVerdict(s: SignInSubject, passkeyOnly: boolean): Verdict {
  if (s.method === 'passkey') return 'satisfied';
  // A Temporary Access Pass is a strong credential that meets MFA (resources/temporaryaccesspassauthenticationmethod.md),
  // not the passwordless or phishing-resistant strengths, which the emulator treats as passkey-only.
  if (!passkeyOnly && (s.method === 'passwordAndMfa' || s.method === 'temporaryAccessPass')) return 'satisfied';
  if (!isModernClient(s.clientApp)) return 'impossible';
  if (passkeyOnly) return s.passkeyRegistered ? 'interactive' : 'impossible';
  return 'interactive';
}

function grantVerdict(p: FixtureConditionalAccessPolicy, s: SignInSubject): { verdict: Verdict; controls: string[] } {
  const g = p.grantControls;
  const builtIn = g?.builtInControls ?? [];
  const controls: string[] = [];
  const verdicts: Verdict[] = [];
  for (const c of builtIn) {
    if (c === 'block') return { verdict: 'impossible', controls: ['Block'] };
    if (c === 'mfa') {
      controls.push('Mfa');
      verdicts.push(strengthVerdict(s, false));
    } else {
      // compliantDevice, domainJoinedDevice, approvedApplication, compliantApplication, passwordChange: no device or
      // app state here, so the sign-in cannot show it meets them.
      controls.push(c.charAt(0).toUpperCase() + c.slice(1));
      verdicts.push('impossible');
    }
  }
  const strength = g?.authenticationStrength;
  if (strength) {
    controls.push('RequireAuthenticationStrength');
    const id = (strength.id ?? '').toLowerCase();
    const combos = strength.allowedCombinations ?? [];
    // Built-in strengths by id; a custom one by its combinations (fido2 → passkeys; "password,<second factor>" → MFA);
    // anything else as strict as phishing-resistant.
    const mfaOk = id === STRENGTH.mfa || (id !== STRENGTH.phishingResistant && id !== STRENGTH.passwordlessMfa && combos.some((c) => c.startsWith('password,')));
    verdicts.push(strengthVerdict(s, !mfaOk));
  }
  if ((g?.termsOfUse ?? []).length > 0 || (g?.customAuthenticationFactors ?? []).length > 0) verdicts.push(isModernClient(s.clientApp) ? 'interactive' : 'impossible');
  if (verdicts.length === 0) return { verdict: 'satisfied', controls };
  const or = (g?.operator ?? 'OR').toUpperCase() === 'OR';
  let verdict = verdicts[0]!;
  for (const v of verdicts) if (or ? RANK[v] < RANK[verdict] : RANK[v] > RANK[verdict]) verdict = v;
  return { verdict, controls };
}

/** One policy's result for one sign-in (see the mapping at the top of this file). */
export function evaluatePolicy(p: FixtureConditionalAccessPolicy, s: SignInSubject): PolicyOutcome {
  const state = p.state ?? 'disabled';
  if (state !== 'enabled' && state !== 'enabledForReportingButNotEnforced') return { result: 'notEnabled', enforcedGrantControls: [] };
  const reportOnly = state === 'enabledForReportingButNotEnforced';
  if (!inUserScope(p, s) || !inAppScope(p, s) || !inClientScope(p, s)) return { result: reportOnly ? 'reportOnlyNotApplied' : 'notApplied', enforcedGrantControls: [] };
  const { verdict, controls } = grantVerdict(p, s);
  const result: CaResult = reportOnly
    ? verdict === 'satisfied'
      ? 'reportOnlySuccess'
      : verdict === 'interactive'
        ? 'reportOnlyInterrupted'
        : 'reportOnlyFailure'
    : verdict === 'satisfied'
      ? 'success'
      : 'failure';
  return { result, enforcedGrantControls: controls, verdict };
}

export interface SignInEvaluation {
  applied: Array<{ id: string; displayName: string | null; enforcedGrantControls: string[]; enforcedSessionControls: string[]; result: CaResult }>;
  conditionalAccessStatus: 'success' | 'failure' | 'notApplied';
  status: { errorCode: number; failureReason: string | null; additionalDetails: string | null };
}

/** Every policy of the tenant with its result (sign-in logs list them all), the overall status and the sign-in's outcome. */
export function evaluateSignIn(policies: readonly FixtureConditionalAccessPolicy[], s: SignInSubject): SignInEvaluation {
  const applied: SignInEvaluation['applied'] = [];
  let enforcedFailure: Verdict | undefined;
  let enforcedSuccess = false;
  for (const p of policies) {
    const o = evaluatePolicy(p, s);
    applied.push({ id: p.id, displayName: p.displayName ?? null, enforcedGrantControls: o.enforcedGrantControls, enforcedSessionControls: [], result: o.result });
    if (o.result === 'success') enforcedSuccess = true;
    if (o.result === 'failure' && (enforcedFailure === undefined || RANK[o.verdict!] > RANK[enforcedFailure])) enforcedFailure = o.verdict;
  }
  // A blocked sign-in is AADSTS53003; one the user would have had to strengthen ends at the MFA prompt (AADSTS50074).
  const status =
    enforcedFailure === 'impossible'
      ? { errorCode: 53003, failureReason: 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.', additionalDetails: null }
      : enforcedFailure === 'interactive'
        ? { errorCode: 50074, failureReason: 'Strong Authentication is required.', additionalDetails: null }
        : { errorCode: 0, failureReason: null, additionalDetails: null };
  return { applied, conditionalAccessStatus: enforcedFailure ? 'failure' : enforcedSuccess ? 'success' : 'notApplied', status };
}

/**
 * The authentication steps of a sign-in (beta authenticationDetail). The documented authenticationMethod values are
 * Password, SMS, Voice, Authenticator App, Software OATH token, Satisfied by token and Previously satisfied: none
 * names a passkey, so a passkey step uses the names Entra's sign-in logs show ("Passkey (device-bound)",
 * "Passkey (synced)", "FIDO2 security key"), picked by the passkey's AAGUID.
 */
export function authenticationDetails(method: SignInMethod, at: string, passkeyAaGuid: string | null | undefined, passkeyModel: string | null | undefined): FixtureAuthenticationDetail[] {
  const password: FixtureAuthenticationDetail = {
    authenticationStepDateTime: at,
    authenticationMethod: 'Password',
    authenticationMethodDetail: 'Password in the cloud',
    succeeded: true,
    authenticationStepResultDetail: 'Correct password',
    authenticationStepRequirement: 'Primary authentication',
  };
  if (method === 'password') return [password];
  if (method === 'temporaryAccessPass')
    return [{ authenticationStepDateTime: at, authenticationMethod: 'Temporary Access Pass', authenticationMethodDetail: null, succeeded: true, authenticationStepResultDetail: 'MFA requirement satisfied by claim in the token', authenticationStepRequirement: 'Primary authentication' }];
  if (method === 'passwordAndMfa')
    return [
      password,
      { authenticationStepDateTime: at, authenticationMethod: 'Authenticator App', authenticationMethodDetail: null, succeeded: true, authenticationStepResultDetail: 'MFA successfully completed', authenticationStepRequirement: 'Multifactor authentication' },
    ];
  const g = (passkeyAaGuid ?? '').toLowerCase();
  const name = SYNCED_AAGUIDS.has(g) ? 'Passkey (synced)' : AUTHENTICATOR_AAGUIDS.has(g) || WINDOWS_HELLO_AAGUIDS.has(g) ? 'Passkey (device-bound)' : 'FIDO2 security key';
  return [{ authenticationStepDateTime: at, authenticationMethod: name, authenticationMethodDetail: passkeyModel ?? null, succeeded: true, authenticationStepResultDetail: 'MFA requirement satisfied by claim in the token', authenticationStepRequirement: 'Primary authentication' }];
}

/** A GUID-shaped id from a seed string: the same sign-ins always get the same ids. */
export function stableGuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[parseInt(h[16]!, 16) % 4]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The application's id: a known first-party app's, the caller's, or one derived from the name. */
export function appIdOf(app: string, appId?: string): string {
  return (appId ?? KNOWN_APPS[app]?.appId ?? stableGuid(`app:${app}`)).toLowerCase();
}

export interface SignInInput {
  user: Pick<FixtureUser, 'id' | 'userPrincipalName' | 'displayName' | 'userType'>;
  at: string;
  app: string;
  appId: string;
  clientApp: ClientAppUsed;
  method: SignInMethod;
  /** The passkey used (method `passkey`): its AAGUID and model name the authentication step. */
  passkey?: { aaGuid?: string | null; model?: string | null };
  id: string;
}

/** The Graph signIn object of an evaluated sign-in (beta-complete; routes.ts drops beta-only properties on v1.0). */
export function buildSignIn(input: SignInInput, evaluation: SignInEvaluation): FixtureSignIn {
  const modern = isModernClient(input.clientApp);
  const exchange = !modern;
  return {
    id: input.id,
    createdDateTime: input.at,
    userDisplayName: input.user.displayName ?? null,
    // resources/signin.md: "This value is always in lowercase."
    userPrincipalName: input.user.userPrincipalName.toLowerCase(),
    userId: input.user.id,
    appId: input.appId,
    appDisplayName: input.app,
    ipAddress: `203.0.113.${parseInt(input.id.slice(0, 2), 16) % 254 + 1}`,
    clientAppUsed: input.clientApp,
    correlationId: stableGuid(`correlation:${input.id}`),
    conditionalAccessStatus: evaluation.conditionalAccessStatus,
    isInteractive: true,
    riskDetail: 'none',
    riskLevelAggregated: 'none',
    riskLevelDuringSignIn: 'none',
    riskState: 'none',
    riskEventTypes: [],
    riskEventTypes_v2: [],
    resourceDisplayName: exchange ? 'Office 365 Exchange Online' : 'Microsoft Graph',
    resourceId: exchange ? KNOWN_APPS['Office 365 Exchange Online']!.appId : '00000003-0000-0000-c000-000000000000',
    status: evaluation.status,
    deviceDetail: { deviceId: '', displayName: null, operatingSystem: null, browser: input.clientApp === 'Browser' ? 'Edge 131.0.0' : null, isCompliant: null, isManaged: null, trustType: null },
    location: { city: 'Redmond', state: 'Washington', countryOrRegion: 'US', geoCoordinates: null },
    appliedConditionalAccessPolicies: evaluation.applied,
    // beta only (signin-list.md, beta): how the user authenticated.
    authenticationRequirement: input.method === 'password' ? 'singleFactorAuthentication' : 'multiFactorAuthentication',
    authenticationDetails: authenticationDetails(input.method, input.at, input.passkey?.aaGuid, input.passkey?.model),
  } as FixtureSignIn;
}

/** One entry of POST /_sim/sign-ins, as the caller writes it. */
export interface SignInRequest {
  /** The user's object id or UPN. */
  userId: string;
  /** When; default: the emulator's clock. */
  at?: string;
  /** The application's display name (default "Microsoft Office"). */
  app?: string;
  appId?: string;
  /** clientAppUsed (default "Browser"). */
  clientApp?: string;
  method: SignInMethod;
  /**
   * With method `temporaryAccessPass`, optionally the pass the user was given (the mail to their manager holds it):
   * checked against the one issued. Never recorded or echoed.
   */
  temporaryAccessPass?: string;
}

export type SignInBatch =
  | { ok: true; requests: Array<Required<Omit<SignInRequest, 'appId' | 'temporaryAccessPass'>> & { appId?: string; temporaryAccessPass?: string; clientApp: ClientAppUsed }> }
  | { ok: false; errors: string[] };

/** Checks a POST /_sim/sign-ins body: `{ "signIns": [ { "userId", "at", "app", "clientApp", "method" } ] }`. */
export function parseSignInBatch(body: Record<string, unknown>, now: string, maxEntries = 10_000): SignInBatch {
  const errors: string[] = [];
  for (const k of Object.keys(body)) if (k !== 'signIns') errors.push(`$.${k}: unknown field; the body is { "signIns": [ … ] }.`);
  const list = body.signIns;
  if (!Array.isArray(list)) return { ok: false, errors: [...errors, `$.signIns: must be an array of { "userId", "at", "app", "clientApp", "method" } (got ${JSON.stringify(list)}).`] };
  if (list.length > maxEntries) return { ok: false, errors: [`$.signIns: at most ${maxEntries} sign-ins per request (got ${list.length}); send them in several requests.`] };
  const clientNames = Object.keys(CLIENT_APPS) as ClientAppUsed[];
  const requests: Extract<SignInBatch, { ok: true }>['requests'] = [];
  list.forEach((raw: unknown, i) => {
    const at = `$.signIns[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return void errors.push(`${at}: must be an object such as { "userId": "<id or UPN>", "method": "passkey" }.`);
    const e = raw as Record<string, unknown>;
    for (const k of Object.keys(e))
      if (!['userId', 'at', 'app', 'appId', 'clientApp', 'method', 'temporaryAccessPass'].includes(k)) errors.push(`${at}.${k}: unknown field; expected userId, at, app, appId, clientApp, method and temporaryAccessPass.`);
    if (e.temporaryAccessPass !== undefined && (typeof e.temporaryAccessPass !== 'string' || e.method !== 'temporaryAccessPass'))
      errors.push(`${at}.temporaryAccessPass: only with method "temporaryAccessPass", and a string (the pass itself is not shown here).`);
    if (typeof e.userId !== 'string' || e.userId === '') errors.push(`${at}.userId: must be the user's object id or UPN (got ${JSON.stringify(e.userId)}).`);
    if (e.at !== undefined && (typeof e.at !== 'string' || Number.isNaN(Date.parse(e.at)))) errors.push(`${at}.at: must be an ISO 8601 date-time such as "2026-12-01T08:00:00Z" (got ${JSON.stringify(e.at)}).`);
    if (e.app !== undefined && (typeof e.app !== 'string' || e.app === '')) errors.push(`${at}.app: must be the application's display name (got ${JSON.stringify(e.app)}).`);
    if (e.appId !== undefined && (typeof e.appId !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(e.appId))) errors.push(`${at}.appId: must be a GUID (got ${JSON.stringify(e.appId)}).`);
    const client = e.clientApp === undefined ? 'Browser' : clientNames.find((c) => typeof e.clientApp === 'string' && c.toLowerCase() === e.clientApp.toLowerCase());
    if (!client) errors.push(`${at}.clientApp: must be one of ${clientNames.map((c) => `"${c}"`).join(', ')} (got ${JSON.stringify(e.clientApp)}).`);
    const method = SIGN_IN_METHODS.find((m) => m === e.method);
    if (!method) errors.push(`${at}.method: must be one of ${SIGN_IN_METHODS.join(', ')} (got ${JSON.stringify(e.method)}).`);
    else if (client && !isModernClient(client) && method !== 'password')
      errors.push(`${at}.method: a legacy client (${client}) signs in with a password only; it can do neither MFA nor passkeys.`);
    if (errors.length === 0 && client && method)
      requests.push({
        userId: e.userId as string,
        at: new Date((e.at as string | undefined) ?? now).toISOString(),
        app: (e.app as string | undefined) ?? 'Microsoft Office',
        ...(e.appId ? { appId: e.appId as string } : {}),
        ...(typeof e.temporaryAccessPass === 'string' ? { temporaryAccessPass: e.temporaryAccessPass } : {}),
        clientApp: client,
        method,
      });
  });
  return errors.length ? { ok: false, errors } : { ok: true, requests };
}

/**
 * Records sign-ins in the tenant's logs, evaluating its Conditional Access policies as they stand. Throws
 * SignInRejected (with every problem, nothing recorded) for unknown users, a passkey sign-in without a passkey, or a
 * Temporary Access Pass sign-in without a pass usable at that time (a usable-once pass is used up by the first one:
 * methodUsabilityReason `OneTimeUsed`).
 */
export function recordSignIns(tenant: TenantState, requests: Extract<SignInBatch, { ok: true }>['requests']): FixtureSignIn[] {
  const problems: string[] = [];
  const tapUsers = new Map<string, number>();
  const users = requests.map((r, i) => {
    const user = tenant.findUser(r.userId);
    if (!user) problems.push(`$.signIns[${i}].userId: no user ${JSON.stringify(r.userId)} in the tenant.`);
    else if (r.method === 'passkey' && tenant.fido2Methods(user.id).length === 0)
      problems.push(`$.signIns[${i}].method: ${user.userPrincipalName} has no passkey registered; register one first (PATCH /_sim/tenant with fido2Methods).`);
    else if (r.method === 'temporaryAccessPass') {
      const atMs = Date.parse(r.at);
      const problem = tapSignInProblem(tenant, user, atMs, r.temporaryAccessPass);
      const earlier = tapUsers.get(user.id);
      if (problem) problems.push(`$.signIns[${i}].method: ${problem}`);
      else if (earlier !== undefined && tenant.temporaryAccessPass(user.id)?.isUsableOnce)
        problems.push(`$.signIns[${i}].method: the Temporary Access Pass of ${user.userPrincipalName} is usable once and $.signIns[${earlier}] uses it.`);
      tapUsers.set(user.id, i);
    }
    return user;
  });
  if (problems.length) throw new SignInRejected(problems);
  const policies = tenant.conditionalAccessPolicies.all();
  const membership = new MembershipCache(tenant);
  const out: FixtureSignIn[] = [];
  const base = tenant.signIns.size;
  requests.forEach((r, i) => {
    const user = users[i]!;
    const passkeys = tenant.fido2Methods(user.id);
    const appId = appIdOf(r.app, r.appId);
    const subject: SignInSubject = {
      userId: user.id,
      userType: user.userType,
      inGroup: (g) => membership.inGroup(g, user.id),
      hasRole: (t) => membership.hasRole(t, user.id),
      appId,
      clientApp: r.clientApp,
      method: r.method,
      passkeyRegistered: passkeys.length > 0,
    };
    const id = stableGuid(`signIn:${base + i}:${user.id}:${r.at}`);
    const passkey = r.method === 'passkey' ? passkeys[(base + i) % passkeys.length] : undefined;
    const signIn = buildSignIn({ user, at: r.at, app: r.app, appId, clientApp: r.clientApp, method: r.method, passkey, id }, evaluateSignIn(policies, subject));
    tenant.signIns.upsert(signIn);
    if (r.method === 'temporaryAccessPass') useTap(tenant, user, r.at);
    out.push(signIn);
  });
  return out;
}

export class SignInRejected extends Error {
  constructor(readonly problems: string[]) {
    super(problems[0]);
  }
}

/** Transitive group membership and active role holders, computed once per batch of sign-ins. */
class MembershipCache {
  private readonly closures = new Map<string, string[]>();
  private roleHolders: Map<string, Set<string>> | undefined;

  constructor(private readonly tenant: TenantState) {}

  /** The group and every group nested in it. */
  private closure(groupId: string): string[] {
    let c = this.closures.get(groupId);
    if (!c) {
      c = [groupId, ...this.tenant.transitiveMemberIds(groupId).filter((id) => this.tenant.groups.has(id))];
      this.closures.set(groupId, c);
    }
    return c;
  }

  inGroup(groupId: string, userId: string): boolean {
    const id = this.tenant.groups.get(groupId)?.id ?? this.tenant.groups.all().find((g) => g.id.toLowerCase() === groupId.toLowerCase())?.id;
    if (!id) return false;
    return this.closure(id).some((g) => this.tenant.isMember(g, userId));
  }

  hasRole(roleTemplateId: string, userId: string): boolean {
    if (!this.roleHolders) {
      this.roleHolders = new Map();
      const templateOf = (defId: string) => (this.tenant.roleDefinitions.get(defId)?.templateId ?? defId).toLowerCase();
      for (const a of this.tenant.roleAssignments.all()) {
        if ((a.directoryScopeId ?? '/') !== '/') continue;
        const key = templateOf(a.roleDefinitionId);
        let set = this.roleHolders.get(key);
        if (!set) this.roleHolders.set(key, (set = new Set()));
        if (this.tenant.groups.has(a.principalId)) {
          for (const m of this.tenant.transitiveMemberIds(a.principalId)) if (this.tenant.users.has(m)) set.add(m);
        } else set.add(a.principalId);
      }
    }
    return this.roleHolders.get(roleTemplateId.toLowerCase())?.has(userId) ?? false;
  }
}
