// The tenant fixture (DESIGN §6): Graph-shaped collections, so a tenant export loads as is.
// Loading never throws a stack trace at the user: every problem is reported as `file: $.json.path: message`.
import { readFileSync } from 'node:fs';
import type * as MG from '@microsoft/microsoft-graph-types';
import { KNOWN_APP_ROLES } from './route-table';

/**
 * `managerId` (DESIGN §10): the object id of the user's manager, served as /users/{id}/manager (user-list-manager.md);
 * not a Graph property, so the user routes never show it.
 */
export type FixtureUser = MG.User & { id: string; userPrincipalName: string; managerId?: string | null };
export type FixtureRegistrationDetails = MG.UserRegistrationDetails & { id: string };
export type FixtureFido2Method = MG.Fido2AuthenticationMethod & { id: string };
/** `registeredOwners` holds owner object ids (an export's `[{ id }]` form is accepted and reduced to ids). */
export type FixtureDevice = Omit<MG.Device, 'registeredOwners'> & { id: string; registeredOwners?: string[] };
export type FixtureRoleDefinition = MG.UnifiedRoleDefinition & { id: string };
export type FixtureRoleAssignment = Omit<MG.UnifiedRoleAssignment, 'principal' | 'roleDefinition'> & {
  id: string;
  principalId: string;
  roleDefinitionId: string;
};
export type FixtureRoleEligibility = Omit<MG.UnifiedRoleEligibilityScheduleInstance, 'principal' | 'roleDefinition'> & {
  id: string;
  principalId: string;
  roleDefinitionId: string;
};
/** `members` holds member object ids (users, groups or devices); `owners` owner object ids (users or service principals). */
export type FixtureGroup = Omit<MG.Group, 'members' | 'owners'> & { id: string; displayName: string; members?: string[]; owners?: string[] };
/** A passkey profile of the FIDO2 configuration (beta resources/passkeyprofile.md); `passkeyTypes` is a flags string such as "deviceBound,synced". */
export interface FixturePasskeyProfile {
  id: string;
  name: string;
  passkeyTypes: string;
  attestationEnforcement?: string;
  keyRestrictions?: MG.Fido2KeyRestrictions;
}
/** An include target; `allowedPasskeyProfiles` (beta resources/passkeyauthenticationmethodtarget.md) lists passkey profile ids. */
export type FixtureMethodTarget = MG.AuthenticationMethodTarget & { allowedPasskeyProfiles?: string[] };
/** v1.0 properties plus the beta-only passkey profiles, which the emulator shows on /beta only. */
export type FixtureMethodConfiguration = MG.AuthenticationMethodConfiguration &
  Omit<Partial<MG.Fido2AuthenticationMethodConfiguration>, 'includeTargets'> &
  Omit<Partial<MG.TemporaryAccessPassAuthenticationMethodConfiguration>, 'includeTargets'> & {
    id: string;
    '@odata.type'?: string;
    includeTargets?: FixtureMethodTarget[] | null;
    passkeyProfiles?: FixturePasskeyProfile[];
    defaultPasskeyProfile?: string;
  };
export type FixtureAuthenticationMethodsPolicy = Omit<MG.AuthenticationMethodsPolicy, 'authenticationMethodConfigurations'> & {
  authenticationMethodConfigurations?: FixtureMethodConfiguration[];
};
export type FixtureConditionalAccessPolicy = MG.ConditionalAccessPolicy & { id: string };
/**
 * One step of a sign-in's authentication (beta resources/authenticationdetail.md; v1.0 has no authenticationDetail,
 * so the emulator serves it on /beta only).
 */
export interface FixtureAuthenticationDetail {
  authenticationMethod?: string | null;
  authenticationMethodDetail?: string | null;
  authenticationStepDateTime?: string | null;
  authenticationStepRequirement?: string | null;
  authenticationStepResultDetail?: string | null;
  succeeded?: boolean | null;
}
/** DESIGN §10 `signIns`: Graph signIn objects (resources/signin.md), plus beta's authenticationDetails. */
export type FixtureSignIn = MG.SignIn & { id: string; createdDateTime: string; userId: string; authenticationDetails?: FixtureAuthenticationDetail[] | null };
/** An app of the org's Teams app catalog (DESIGN §10): who may send which activity types. */
export interface FixtureTeamsApp {
  id: string;
  externalId?: string;
  displayName?: string;
  /** The Entra app id named in the manifest's webApplicationInfo (the identity allowed to send). */
  webApplicationInfoId?: string;
  /** Activity types the manifest declares. */
  activityTypes?: string[];
}

export interface TenantFixture {
  users?: FixtureUser[];
  userRegistrationDetails?: FixtureRegistrationDetails[];
  /** Keyed by user id. */
  fido2Methods?: Record<string, FixtureFido2Method[]>;
  devices?: FixtureDevice[];
  roleDefinitions?: FixtureRoleDefinition[];
  roleAssignments?: FixtureRoleAssignment[];
  roleEligibilityScheduleInstances?: FixtureRoleEligibility[];
  groups?: FixtureGroup[];
  authenticationMethodsPolicy?: FixtureAuthenticationMethodsPolicy;
  /** Served at /identity/conditionalAccess/policies (an extension of the §6 shape). */
  conditionalAccessPolicies?: FixtureConditionalAccessPolicy[];
  /** Served at /auditLogs/signIns, newest first (DESIGN §10); POST /_sim/sign-ins adds to them. */
  signIns?: FixtureSignIn[];
  /** The org's Teams app catalog (DESIGN §10). */
  teamsApps?: FixtureTeamsApp[];
  /** Teams apps installed per user id (DESIGN §10); present → a notification needs the sending app installed. */
  teamsAppInstallations?: Record<string, string[]>;
  /** UPNs or ids of the users that have a mailbox (DESIGN §10); present → mail to or from anyone else fails. */
  mailboxes?: string[];
  /** The calling identity's application permissions (DESIGN §10); present → each route needs one it documents. */
  application?: FixtureApplication;
}

/** DESIGN §10 `application`: the Graph application permissions (by name) the calling identity holds. */
export interface FixtureApplication {
  appId: string;
  appRoles: string[];
}

/** The array collections whose items are keyed by `id`. */
export const ID_COLLECTIONS = [
  'users',
  'userRegistrationDetails',
  'devices',
  'roleDefinitions',
  'roleAssignments',
  'roleEligibilityScheduleInstances',
  'groups',
  'conditionalAccessPolicies',
  'teamsApps',
  'signIns',
] as const;
export type IdCollection = (typeof ID_COLLECTIONS)[number];

const TOP_LEVEL = new Set<string>([...ID_COLLECTIONS, 'fido2Methods', 'authenticationMethodsPolicy', 'teamsAppInstallations', 'mailboxes', 'application']);

export class FixtureError extends Error {
  override readonly name = 'FixtureError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(FixtureError.render(source, problems));
  }

  private static render(source: string, problems: string[]): string {
    const shown = problems.slice(0, 20).map((p) => `${source}: ${p}`);
    if (problems.length > shown.length) shown.push(`${source}: … and ${problems.length - shown.length} more problems`);
    return shown.join('\n');
  }
}

export interface ValidateOptions {
  /** A partial fixture (PATCH /_sim/tenant): required fields are only required for items that do not exist yet. */
  partial?: boolean;
  /** For partial fixtures: does an item with this id already exist in that collection? */
  exists?: (collection: IdCollection, id: string) => boolean;
}

export interface ValidationResult {
  fixture: TenantFixture;
  /** Structural problems: the fixture cannot be served. */
  errors: string[];
  /** Dangling references (an owner that is not a user, …): served as is, but probably a mistake. */
  warnings: string[];
}

type Json = unknown;
type Rec = Record<string, Json>;

const isRecord = (v: Json): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: Json): string => {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 40 ? `${text.slice(0, 37)}…` : text;
};
const key = (path: string, k: string): string => (/^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`);

class Checker {
  readonly errors: string[] = [];

  fail(path: string, message: string): void {
    this.errors.push(`${path}: ${message}`);
  }

  idString(item: Rec, field: string, path: string, required: boolean): string | undefined {
    const v = item[field];
    if (v === undefined) {
      if (required) this.fail(key(path, field), 'is required (a non-empty string).');
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      this.fail(key(path, field), `must be a non-empty string (got ${show(v)}).`);
      return undefined;
    }
    if (/[/?#]/.test(v)) {
      this.fail(key(path, field), `must not contain "/", "?" or "#" since it is used in URL paths (got ${show(v)}).`);
      return undefined;
    }
    return v;
  }

  optional(item: Rec, field: string, path: string, type: 'string' | 'boolean' | 'date' | 'string[]', nullable = true): void {
    const v = item[field];
    if (v === undefined || (v === null && nullable)) return;
    const at = key(path, field);
    switch (type) {
      case 'string':
        if (typeof v !== 'string') this.fail(at, `must be a string${nullable ? ' or null' : ''} (got ${show(v)}).`);
        break;
      case 'boolean':
        if (typeof v !== 'boolean') this.fail(at, `must be true or false (got ${show(v)}).`);
        break;
      case 'date':
        if (typeof v !== 'string' || Number.isNaN(Date.parse(v)))
          this.fail(at, `must be an ISO 8601 date-time such as "2026-01-31T08:00:00Z" (got ${show(v)}).`);
        break;
      case 'string[]':
        if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) this.fail(at, `must be an array of strings (got ${show(v)}).`);
        break;
    }
  }

  /** Reduces `["id"]` or `[{ "id": "…" }]` to ids. */
  refList(item: Rec, field: string, path: string): string[] | undefined {
    const v = item[field];
    if (v === undefined || v === null) return undefined;
    const at = key(path, field);
    if (!Array.isArray(v)) {
      this.fail(at, `must be an array of object ids (got ${show(v)}).`);
      return undefined;
    }
    const ids: string[] = [];
    v.forEach((ref, i) => {
      const id = typeof ref === 'string' ? ref : isRecord(ref) && typeof ref.id === 'string' ? ref.id : undefined;
      if (!id) this.fail(`${at}[${i}]`, `must be an object id string or an object with an "id" (got ${show(ref)}).`);
      else ids.push(id);
    });
    return ids;
  }
}

function itemRules(c: Checker, collection: IdCollection, item: Rec, path: string, isNew: boolean): void {
  switch (collection) {
    case 'users': {
      const upn = item.userPrincipalName;
      if (upn === undefined) {
        if (isNew) c.fail(key(path, 'userPrincipalName'), 'is required (such as "adele@contoso.com").');
      } else if (typeof upn !== 'string' || !upn.includes('@')) {
        c.fail(key(path, 'userPrincipalName'), `must be a string containing "@" (got ${show(upn)}).`);
      }
      c.optional(item, 'displayName', path, 'string');
      c.optional(item, 'mail', path, 'string');
      c.optional(item, 'accountEnabled', path, 'boolean', false);
      if (item.managerId !== null) c.idString(item, 'managerId', path, false);
      break;
    }
    case 'userRegistrationDetails':
      c.optional(item, 'userPrincipalName', path, 'string', false);
      c.optional(item, 'methodsRegistered', path, 'string[]');
      c.optional(item, 'isAdmin', path, 'boolean');
      c.optional(item, 'lastUpdatedDateTime', path, 'date');
      break;
    case 'devices':
      c.optional(item, 'displayName', path, 'string');
      c.optional(item, 'operatingSystem', path, 'string');
      c.optional(item, 'operatingSystemVersion', path, 'string');
      c.optional(item, 'approximateLastSignInDateTime', path, 'date');
      c.optional(item, 'accountEnabled', path, 'boolean');
      break;
    case 'roleDefinitions':
      if (isNew && item.displayName === undefined) c.fail(key(path, 'displayName'), 'is required (such as "Global Administrator").');
      c.optional(item, 'displayName', path, 'string', false);
      c.optional(item, 'templateId', path, 'string');
      break;
    case 'roleAssignments':
    case 'roleEligibilityScheduleInstances':
      c.idString(item, 'principalId', path, isNew);
      c.idString(item, 'roleDefinitionId', path, isNew);
      c.optional(item, 'directoryScopeId', path, 'string');
      break;
    case 'groups':
      if (isNew && item.displayName === undefined) c.fail(key(path, 'displayName'), 'is required.');
      c.optional(item, 'displayName', path, 'string', false);
      break;
    case 'conditionalAccessPolicies':
      c.optional(item, 'displayName', path, 'string');
      c.optional(item, 'state', path, 'string');
      break;
    case 'signIns':
      signInRules(c, item, path, isNew);
      break;
    case 'teamsApps':
      c.optional(item, 'externalId', path, 'string');
      c.optional(item, 'displayName', path, 'string');
      c.optional(item, 'webApplicationInfoId', path, 'string');
      c.optional(item, 'activityTypes', path, 'string[]', false);
      break;
  }
}

/** appliedConditionalAccessPolicy.result (resources/appliedconditionalaccesspolicy.md). */
export const CA_RESULTS = [
  'success',
  'failure',
  'notApplied',
  'notEnabled',
  'unknown',
  'unknownFutureValue',
  'reportOnlySuccess',
  'reportOnlyFailure',
  'reportOnlyNotApplied',
  'reportOnlyInterrupted',
] as const;
/** signIn.conditionalAccessStatus (resources/signin.md). */
const CA_STATUSES = ['success', 'failure', 'notApplied', 'unknownFutureValue'];

function signInRules(c: Checker, item: Rec, path: string, isNew: boolean): void {
  if (isNew && item.createdDateTime === undefined) c.fail(key(path, 'createdDateTime'), 'is required (when the sign-in happened, such as "2026-12-01T08:00:00Z").');
  c.optional(item, 'createdDateTime', path, 'date', false);
  if (isNew && item.userId === undefined) c.fail(key(path, 'userId'), 'is required (the object id of the user who signed in).');
  c.optional(item, 'userId', path, 'string', false);
  for (const f of ['userPrincipalName', 'userDisplayName', 'appDisplayName', 'appId', 'clientAppUsed', 'correlationId', 'ipAddress', 'resourceDisplayName', 'resourceId'])
    c.optional(item, f, path, 'string');
  c.optional(item, 'isInteractive', path, 'boolean');
  const status = item.conditionalAccessStatus;
  if (status !== undefined && status !== null && !CA_STATUSES.includes(status as string))
    c.fail(key(path, 'conditionalAccessStatus'), `must be one of ${CA_STATUSES.join(', ')} (got ${show(status)}).`);
  const applied = item.appliedConditionalAccessPolicies;
  if (applied !== undefined && applied !== null) {
    const at = key(path, 'appliedConditionalAccessPolicies');
    if (!Array.isArray(applied)) c.fail(at, `must be an array of appliedConditionalAccessPolicy objects such as { "id", "displayName", "result" } (got ${show(applied)}).`);
    else
      applied.forEach((p, i) => {
        const pat = `${at}[${i}]`;
        if (!isRecord(p)) return c.fail(pat, `must be an object such as { "id", "displayName", "result" } (got ${show(p)}).`);
        if (typeof p.id !== 'string' || p.id === '') c.fail(key(pat, 'id'), `must be the Conditional Access policy's id, a non-empty string (got ${show(p.id)}).`);
        c.optional(p, 'displayName', pat, 'string');
        c.optional(p, 'enforcedGrantControls', pat, 'string[]');
        c.optional(p, 'enforcedSessionControls', pat, 'string[]');
        if (!(CA_RESULTS as readonly unknown[]).includes(p.result)) c.fail(key(pat, 'result'), `must be one of ${CA_RESULTS.join(', ')} (got ${show(p.result)}).`);
      });
  }
  const details = item.authenticationDetails;
  if (details !== undefined && details !== null) {
    const at = key(path, 'authenticationDetails');
    if (!Array.isArray(details)) c.fail(at, `must be an array of authenticationDetail objects such as { "authenticationMethod": "Password", "succeeded": true } (got ${show(details)}).`);
    else
      details.forEach((d, i) => {
        const dat = `${at}[${i}]`;
        if (!isRecord(d)) return c.fail(dat, `must be an object such as { "authenticationMethod": "Password", "succeeded": true } (got ${show(d)}).`);
        for (const f of ['authenticationMethod', 'authenticationMethodDetail', 'authenticationStepRequirement', 'authenticationStepResultDetail']) c.optional(d, f, dat, 'string');
        c.optional(d, 'authenticationStepDateTime', dat, 'date');
        c.optional(d, 'succeeded', dat, 'boolean');
      });
  }
  const st = item.status;
  if (st !== undefined && st !== null) {
    if (!isRecord(st)) c.fail(key(path, 'status'), `must be a signInStatus object such as { "errorCode": 0 } (got ${show(st)}).`);
    else if (st.errorCode !== undefined && st.errorCode !== null && !Number.isInteger(st.errorCode)) c.fail(key(key(path, 'status'), 'errorCode'), `must be a whole number (got ${show(st.errorCode)}).`);
  }
}

/**
 * Checks a parsed fixture and returns it normalised (reference lists reduced to ids). Never throws.
 * Unknown top-level keys are errors (they are almost always typos); keys starting with "@" or "$" are ignored.
 */
export function validateFixture(value: unknown, options: ValidateOptions = {}): ValidationResult {
  const c = new Checker();
  const warnings: string[] = [];
  const fixture: TenantFixture = {};
  if (!isRecord(value)) {
    c.fail('$', `must be a JSON object with collections such as "users" and "devices" (got ${show(value)}).`);
    return { fixture, errors: c.errors, warnings };
  }
  for (const k of Object.keys(value)) {
    if (!TOP_LEVEL.has(k) && !k.startsWith('@') && !k.startsWith('$'))
      c.fail(key('$', k), `unknown collection; expected one of ${[...TOP_LEVEL].join(', ')}.`);
  }
  const out = fixture as Record<string, unknown>;

  for (const collection of ID_COLLECTIONS) {
    const list = value[collection];
    if (list === undefined) continue;
    const path = `$.${collection}`;
    if (!Array.isArray(list)) {
      c.fail(path, `must be an array (got ${show(list)}).`);
      continue;
    }
    const seen = new Set<string>();
    const items: Rec[] = [];
    list.forEach((raw, i) => {
      const at = `${path}[${i}]`;
      if (!isRecord(raw)) {
        c.fail(at, `must be an object (got ${show(raw)}).`);
        return;
      }
      const id = c.idString(raw, 'id', at, true);
      if (id === undefined) return;
      if (seen.has(id)) c.fail(key(at, 'id'), `duplicate id ${show(id)} in ${collection}.`);
      seen.add(id);
      const isNew = !options.partial || !options.exists?.(collection, id);
      itemRules(c, collection, raw, at, isNew);
      const item: Rec = { ...raw };
      if (collection === 'devices') {
        const owners = c.refList(raw, 'registeredOwners', at);
        if (owners) item.registeredOwners = owners;
      }
      if (collection === 'groups') {
        const members = c.refList(raw, 'members', at);
        if (members) item.members = members;
        const owners = c.refList(raw, 'owners', at);
        if (owners) item.owners = owners;
      }
      if ((collection === 'roleAssignments' || collection === 'roleEligibilityScheduleInstances') && isNew && item.directoryScopeId === undefined)
        item.directoryScopeId = '/';
      items.push(item);
    });
    out[collection] = items;
  }

  const users = value.users;
  if (Array.isArray(users) && !options.partial) {
    const upns = new Map<string, number>();
    users.forEach((u, i) => {
      if (!isRecord(u) || typeof u.userPrincipalName !== 'string') return;
      const lower = u.userPrincipalName.toLowerCase();
      const first = upns.get(lower);
      if (first !== undefined) c.fail(`$.users[${i}].userPrincipalName`, `duplicate of $.users[${first}] (UPNs are unique, ignoring case).`);
      else upns.set(lower, i);
    });
  }

  const fido = value.fido2Methods;
  if (fido !== undefined) {
    if (!isRecord(fido)) c.fail('$.fido2Methods', `must be an object keyed by user id (got ${show(fido)}).`);
    else {
      const byUser: Record<string, FixtureFido2Method[]> = {};
      for (const [userId, methods] of Object.entries(fido)) {
        const at = key('$.fido2Methods', userId);
        if (!Array.isArray(methods)) {
          c.fail(at, `must be an array of fido2AuthenticationMethod objects (got ${show(methods)}).`);
          continue;
        }
        const seen = new Set<string>();
        methods.forEach((m, i) => {
          const mat = `${at}[${i}]`;
          if (!isRecord(m)) return c.fail(mat, `must be an object (got ${show(m)}).`);
          const id = c.idString(m, 'id', mat, true);
          if (id !== undefined && seen.has(id)) c.fail(key(mat, 'id'), `duplicate method id ${show(id)} for this user.`);
          if (id !== undefined) seen.add(id);
          c.optional(m, 'aaGuid', mat, 'string');
          c.optional(m, 'model', mat, 'string');
          c.optional(m, 'displayName', mat, 'string');
          c.optional(m, 'createdDateTime', mat, 'date');
        });
        byUser[userId] = methods as FixtureFido2Method[];
      }
      fixture.fido2Methods = byUser;
    }
  }

  const installations = value.teamsAppInstallations;
  if (installations !== undefined) {
    if (!isRecord(installations) || Object.values(installations).some((ids) => !Array.isArray(ids) || ids.some((x) => typeof x !== 'string')))
      c.fail('$.teamsAppInstallations', `must map user ids to arrays of Teams app ids (got ${show(installations)}).`);
    else fixture.teamsAppInstallations = Object.fromEntries(Object.entries(installations).map(([u, ids]) => [u, [...(ids as string[])]]));
  }

  const mailboxes = value.mailboxes;
  if (mailboxes !== undefined) {
    if (!Array.isArray(mailboxes) || mailboxes.some((x) => typeof x !== 'string' || x.trim() === '')) c.fail('$.mailboxes', `must be an array of UPNs or user ids (got ${show(mailboxes)}).`);
    else fixture.mailboxes = [...(mailboxes as string[])];
  }

  const application = value.application;
  if (application !== undefined) {
    const at = '$.application';
    if (!isRecord(application)) c.fail(at, `must be an object such as { "appId": "<client id>", "appRoles": ["User.Read.All"] } (got ${show(application)}).`);
    else {
      let ok = true;
      for (const k of Object.keys(application)) {
        if (k !== 'appId' && k !== 'appRoles') {
          c.fail(key(at, k), 'unknown field; expected appId and appRoles.');
          ok = false;
        }
      }
      if (typeof application.appId !== 'string' || application.appId.trim() === '') {
        c.fail(`${at}.appId`, `must be the calling app's client id, a non-empty string (got ${show(application.appId)}).`);
        ok = false;
      }
      const roles = application.appRoles;
      if (!Array.isArray(roles)) {
        c.fail(`${at}.appRoles`, `must be an array of Graph application permission names such as "User.Read.All" (got ${show(roles)}).`);
        ok = false;
      } else {
        roles.forEach((r, i) => {
          if (typeof r === 'string' && KNOWN_APP_ROLES.has(r)) return;
          const near = typeof r === 'string' ? [...KNOWN_APP_ROLES].find((k) => k.toLowerCase() === r.toLowerCase()) : undefined;
          c.fail(`${at}.appRoles[${i}]`, `unknown application permission ${show(r)}${near ? `; did you mean "${near}"?` : `; expected one of ${[...KNOWN_APP_ROLES].sort().join(', ')}.`}`);
          ok = false;
        });
      }
      if (ok) fixture.application = { appId: application.appId as string, appRoles: [...(roles as string[])] };
    }
  }

  const policy = value.authenticationMethodsPolicy;
  if (policy !== undefined) {
    if (!isRecord(policy)) c.fail('$.authenticationMethodsPolicy', `must be an object (got ${show(policy)}).`);
    else {
      const configs = policy.authenticationMethodConfigurations;
      if (configs !== undefined && !Array.isArray(configs))
        c.fail('$.authenticationMethodsPolicy.authenticationMethodConfigurations', `must be an array (got ${show(configs)}).`);
      else if (Array.isArray(configs)) {
        configs.forEach((cfg, i) => {
          const at = `$.authenticationMethodsPolicy.authenticationMethodConfigurations[${i}]`;
          if (!isRecord(cfg)) return c.fail(at, `must be an object (got ${show(cfg)}).`);
          c.idString(cfg, 'id', at, true);
          c.optional(cfg, 'state', at, 'string');
          if (cfg.state !== undefined && cfg.state !== null && cfg.state !== 'enabled' && cfg.state !== 'disabled')
            c.fail(key(at, 'state'), `must be "enabled" or "disabled" (got ${show(cfg.state)}).`);
          if (typeof cfg.id === 'string' && cfg.id.toLowerCase() === 'temporaryaccesspass') tapConfigurationRules(c, cfg, at);
          const profiles = cfg.passkeyProfiles;
          if (profiles !== undefined && !Array.isArray(profiles)) c.fail(key(at, 'passkeyProfiles'), `must be an array of passkeyProfile objects (got ${show(profiles)}).`);
          else if (Array.isArray(profiles)) {
            profiles.forEach((pp, j) => {
              const pat = `${key(at, 'passkeyProfiles')}[${j}]`;
              if (!isRecord(pp)) return c.fail(pat, `must be a passkeyProfile object (got ${show(pp)}).`);
              for (const k of ['id', 'name', 'passkeyTypes']) if (typeof pp[k] !== 'string') c.fail(key(pat, k), `must be a string (got ${show(pp[k])}).`);
            });
          }
        });
      }
      fixture.authenticationMethodsPolicy = policy as FixtureAuthenticationMethodsPolicy;
    }
  }

  if (!options.partial && c.errors.length === 0) for (const w of danglingReferences(fixture)) warnings.push(w);
  return { fixture, errors: c.errors, warnings };
}

/**
 * The TemporaryAccessPass configuration's numbers as resources/temporaryaccesspassauthenticationmethodconfiguration.md
 * bounds them: lifetimes 10 to 43200 minutes, the default between the minimum and the maximum, a length of 8 to 48.
 */
function tapConfigurationRules(c: Checker, cfg: Rec, at: string): void {
  const whole = (field: string, lo: number, hi: number): number | undefined => {
    const v = cfg[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      c.fail(key(at, field), `must be a whole number from ${lo} to ${hi} (got ${show(v)}).`);
      return undefined;
    }
    return v;
  };
  const min = whole('minimumLifetimeInMinutes', 10, 43200);
  const max = whole('maximumLifetimeInMinutes', 10, 43200);
  const def = whole('defaultLifetimeInMinutes', 10, 43200);
  whole('defaultLength', 8, 48);
  c.optional(cfg, 'isUsableOnce', at, 'boolean');
  if (min !== undefined && max !== undefined && min > max) c.fail(key(at, 'minimumLifetimeInMinutes'), `must not exceed maximumLifetimeInMinutes (${min} > ${max}).`);
  else if (def !== undefined && ((min !== undefined && def < min) || (max !== undefined && def > max)))
    c.fail(key(at, 'defaultLifetimeInMinutes'), `must lie between minimumLifetimeInMinutes and maximumLifetimeInMinutes (got ${def}).`);
}

function danglingReferences(f: TenantFixture): string[] {
  const out: string[] = [];
  const users = new Set((f.users ?? []).map((u) => u.id));
  const groups = new Set((f.groups ?? []).map((g) => g.id));
  const devices = new Set((f.devices ?? []).map((d) => d.id));
  const roles = new Set((f.roleDefinitions ?? []).map((r) => r.id));
  const objects = (id: string) => users.has(id) || groups.has(id) || devices.has(id);
  (f.users ?? []).forEach((u, i) => {
    if (u.managerId && !users.has(u.managerId)) out.push(`$.users[${i}].managerId: ${show(u.managerId)} is not a user in $.users.`);
  });
  (f.devices ?? []).forEach((d, i) =>
    (d.registeredOwners ?? []).forEach((o, j) => {
      if (!users.has(o)) out.push(`$.devices[${i}].registeredOwners[${j}]: ${show(o)} is not a user in $.users.`);
    }),
  );
  (f.groups ?? []).forEach((g, i) =>
    (g.members ?? []).forEach((m, j) => {
      if (!objects(m)) out.push(`$.groups[${i}].members[${j}]: ${show(m)} is not a user, group or device in this fixture.`);
    }),
  );
  for (const collection of ['roleAssignments', 'roleEligibilityScheduleInstances'] as const) {
    (f[collection] ?? []).forEach((a, i) => {
      if (!users.has(a.principalId) && !groups.has(a.principalId))
        out.push(`$.${collection}[${i}].principalId: ${show(a.principalId)} is not a user or group in this fixture.`);
      if (roles.size > 0 && !roles.has(a.roleDefinitionId))
        out.push(`$.${collection}[${i}].roleDefinitionId: ${show(a.roleDefinitionId)} is not in $.roleDefinitions.`);
    });
  }
  for (const userId of Object.keys(f.fido2Methods ?? {})) {
    if (!users.has(userId)) out.push(`${key('$.fido2Methods', userId)}: ${show(userId)} is not a user id in $.users.`);
  }
  const apps = new Set((f.teamsApps ?? []).map((a) => a.id));
  for (const [userId, ids] of Object.entries(f.teamsAppInstallations ?? {})) {
    if (!users.has(userId)) out.push(`${key('$.teamsAppInstallations', userId)}: ${show(userId)} is not a user id in $.users.`);
    ids.forEach((id, i) => {
      if (f.teamsApps && !apps.has(id)) out.push(`${key('$.teamsAppInstallations', userId)}[${i}]: ${show(id)} is not in $.teamsApps.`);
    });
  }
  const names = new Set((f.users ?? []).flatMap((u) => [u.id.toLowerCase(), u.userPrincipalName.toLowerCase()]));
  (f.mailboxes ?? []).forEach((m, i) => {
    if (!names.has(m.toLowerCase())) out.push(`$.mailboxes[${i}]: ${show(m)} is not a user id or UPN in $.users.`);
  });
  return out;
}

/** Parses fixture text; JSON syntax errors name the line and column. Throws FixtureError only. */
export function parseFixture(text: string, source = '<fixture>'): { fixture: TenantFixture; warnings: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const pos = /at position (\d+)/.exec(message);
    let where = '$';
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split('\n').length;
      const col = Number(pos[1]) - before.lastIndexOf('\n');
      where = `${line}:${col}`;
    }
    throw new FixtureError(source, [`${where}: not valid JSON (${message.replace(/\s*\(line \d+ column \d+\)/, '')}).`]);
  }
  const result = validateFixture(value);
  if (result.errors.length > 0) throw new FixtureError(source, result.errors);
  return { fixture: result.fixture, warnings: result.warnings };
}

/** Reads and validates a fixture file. Throws FixtureError (file + JSON path), never a raw fs/JSON error. */
export function loadFixtureFile(file: string): { fixture: TenantFixture; warnings: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a JSON file' : `cannot be read (${code ?? String(e)})`;
    throw new FixtureError(file, [`${why}. Pass a tenant fixture, e.g. one written by "campaign sim generate --users 50 > tenant.json".`]);
  }
  return parseFixture(text, file);
}
