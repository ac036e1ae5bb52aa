// Target resolution without HTTP: one row per targeting rule of DESIGN §3–§4, on snapshots built here.
import { describe, expect, it } from 'vitest';
import type { Campaign } from '../../src/campaign/types';
import type {
  SnapshotDirectoryObject,
  SnapshotFido2Configuration,
  SnapshotRoleAssignment,
  SnapshotUser,
  TenantSnapshot,
} from '../../src/engine/snapshot';
import { foldExemptions } from '../../src/engine/exemptions';
import { FIDO2_SCOPE_UNKNOWN, MISSING_REGISTRATION_ROW, fido2MethodReads, groupsToExpand, resolveTargets } from '../../src/engine/targets';
import type { ExemptionResolvedEvent, LedgerEvent } from '../../src/ledger/events';
import type { ExclusionKind, ObservedFido2Method } from '../../src/engine/types';
import type { WarningCode } from '../../src/engine/warnings';
import { NOW, campaign as baseCampaign } from './fixtures';

const GLOBAL_ADMIN = '62e90394-69f5-4237-9190-012177145e10';
const SECURITY_ADMIN = '194ae4cb-b126-40b2-bd5b-6091b380977d';
const YUBIKEY = '2fc0579f-8113-47ea-b116-bb5a8db9202a';
const ENFORCEMENT_GROUP = { id: 'g-enforced', displayName: 'passkey-campaign-admins-passkeys-enforced' };

// ---- a small typed snapshot builder ----

const person = (name: string, o: Partial<SnapshotUser> = {}): SnapshotUser => ({ id: `u-${name}`, userPrincipalName: `${name}@contoso.com`, displayName: name, accountEnabled: true, ...o });
const ada = person('ada');
const bob = person('bob');
const cy = person('cy');
const bg1 = person('bg1');
const dan = person('dan', { accountEnabled: false });
const PEOPLE = [ada, bob, cy, bg1, dan];

const role = (principalId: string, o: Partial<SnapshotRoleAssignment> = {}): SnapshotRoleAssignment => ({ id: `ra-${principalId}`, principalId, roleDefinitionId: GLOBAL_ADMIN, directoryScopeId: '/', ...o });
const users = (...us: SnapshotUser[]): SnapshotDirectoryObject[] => us.map((u) => ({ id: u.id, '@odata.type': '#microsoft.graph.user' }));
const fido2 = (o: Partial<SnapshotFido2Configuration> = {}): SnapshotFido2Configuration => ({
  state: 'enabled',
  isSelfServiceRegistrationAllowed: true,
  keyRestrictions: { isEnforced: false, enforcementType: 'block', aaGuids: [] },
  includeTargets: [{ id: 'all_users', targetType: 'group' }],
  excludeTargets: [],
  ...o,
});

/** A tenant where every person has a registration row (no passkey), the FIDO2 policy targets all users, and nothing holds a role. */
function tenant(o: Partial<TenantSnapshot> & { unregistered?: SnapshotUser[]; passkeys?: SnapshotUser[] } = {}): TenantSnapshot {
  const { unregistered = [], passkeys = [], ...rest } = o;
  const people = rest.users ?? PEOPLE;
  return {
    enforcementGroup: ENFORCEMENT_GROUP,
    enforcementGroupMembers: [],
    users: people,
    roleAssignments: [],
    roleEligibilities: [],
    devices: [],
    registrationDetails: people
      .filter((u) => !unregistered.includes(u))
      .map((u) => ({ id: u.id, userPrincipalName: u.userPrincipalName, methodsRegistered: passkeys.includes(u) ? ['passKeyDeviceBoundAuthenticator'] : ['microsoftAuthenticatorPush'] })),
    fido2Policy: fido2(),
    transitiveMembers: {},
    fido2Methods: {},
    readErrors: [],
    ...rest,
  };
}

type Targets = Campaign['spec']['targets'];
type Exclusions = Campaign['spec']['exclusions'];
function campaign(t: Partial<Targets> = {}, x: Partial<Exclusions> = {}): Campaign {
  const c = baseCampaign();
  return { ...c, spec: { ...c.spec, targets: { ...c.spec.targets, ...t }, exclusions: { ...c.spec.exclusions, ...x } } };
}

// ---- the table ----

interface Want {
  users: string[];
  excluded?: Array<{ userPrincipalName: string; exclusion: ExclusionKind }>;
  warnings?: Array<{ code: WarningCode; message: string }>;
  readErrors?: string[];
  /** inFido2PolicyScope per targeted user; default: true for every one. */
  scope?: Record<string, boolean | null>;
  /** Per-user read errors, for the users that have some. */
  userReadErrors?: Record<string, string[]>;
  /** Exemption problems as `list entry problem`. */
  problems?: string[];
  /** Targeted users whose account is disabled (kept, marked, held by decide). */
  disabled?: string[];
}
interface Case {
  name: string;
  campaign?: Campaign;
  tenant: TenantSnapshot;
  /** exemptionResolved records in the ledger before this run. */
  recorded?: Array<Pick<ExemptionResolvedEvent, 'list' | 'entry' | 'objectId' | 'userPrincipalName'>>;
  want: Want;
}

const upn = (u: SnapshotUser) => u.userPrincipalName;

const cases: Case[] = [
  {
    name: 'targets a user with an active assignment of a campaign role',
    tenant: tenant({ roleAssignments: [role(ada.id)] }),
    want: { users: [upn(ada)] },
  },
  {
    name: 'targets a user with a PIM-eligible assignment when includeEligible is true',
    campaign: campaign({ includeEligible: true }),
    tenant: tenant({ roleEligibilities: [role(bob.id)] }),
    want: { users: [upn(bob)] },
  },
  {
    name: 'ignores a PIM-eligible assignment when includeEligible is false',
    campaign: campaign({ includeEligible: false }),
    tenant: tenant({ roleAssignments: [role(ada.id)], roleEligibilities: [role(bob.id)] }),
    want: { users: [upn(ada)] },
  },
  {
    name: 'ignores an assignment of a role the campaign does not target',
    tenant: tenant({ roleAssignments: [role(ada.id), role(bob.id, { roleDefinitionId: SECURITY_ADMIN })] }),
    want: { users: [upn(ada)] },
  },
  {
    name: 'leaves out a holder whose assignment is scoped to an administrative unit, and counts them in a warning',
    tenant: tenant({ roleAssignments: [role(ada.id, { directoryScopeId: '/administrativeUnits/au-1' }), role(bob.id)] }),
    want: {
      users: [upn(bob)],
      warnings: [{ code: 'ScopedRoleAssignmentsSkipped', message: '1 holder of the campaign\'s roles has them only in an administrative unit scope (directoryScopeId other than "/") and is not targeted; set spec.targets.includeScopedRoleAssignments: true to target it.' }],
    },
  },
  {
    name: 'counts a PIM-eligible scoped holder too, and no one who also holds the role tenant-wide',
    tenant: tenant({
      roleAssignments: [role(ada.id, { id: 'ra-1', directoryScopeId: '/administrativeUnits/au-1' }), role(ada.id, { id: 'ra-2' })],
      roleEligibilities: [role(bob.id, { directoryScopeId: '/administrativeUnits/au-2' }), role(cy.id, { directoryScopeId: undefined })],
    }),
    want: {
      users: [upn(ada)],
      warnings: [{ code: 'ScopedRoleAssignmentsSkipped', message: '2 holders of the campaign\'s roles have them only in an administrative unit scope (directoryScopeId other than "/") and are not targeted; set spec.targets.includeScopedRoleAssignments: true to target them.' }],
    },
  },
  {
    name: 'targets administrative-unit-scoped holders with includeScopedRoleAssignments',
    campaign: campaign({ includeScopedRoleAssignments: true }),
    tenant: tenant({ roleAssignments: [role(ada.id, { directoryScopeId: '/administrativeUnits/au-1' }), role(bob.id)] }),
    want: { users: [upn(ada), upn(bob)] },
  },
  {
    name: 'targets the transitive user members of a role-assignable group that holds the role',
    tenant: tenant({
      roleAssignments: [role('g-role-admins')],
      transitiveMembers: { 'g-role-admins': [...users(ada, cy), { id: 'sp-1', '@odata.type': '#microsoft.graph.servicePrincipal' }] },
    }),
    want: { users: [upn(ada), upn(cy)] },
  },
  {
    name: 'targets the members of nested groups in spec.targets.groups, users only',
    campaign: campaign({ roles: [], groups: ['G-TEAM'] }),
    tenant: tenant({ transitiveMembers: { 'g-team': [{ id: 'g-subteam', '@odata.type': '#microsoft.graph.group' }, ...users(bob, cy), { id: 'dev-1', '@odata.type': '#microsoft.graph.device' }] } }),
    want: { users: [upn(bob), upn(cy)] },
  },
  {
    name: 'targets spec.targets.users by UPN and by object id',
    campaign: campaign({ roles: [], users: ['CY@contoso.com', bob.id] }),
    tenant: tenant(),
    want: { users: [upn(bob), upn(cy)] },
  },
  {
    name: 'skips a group member that is no user of this tenant',
    campaign: campaign({ roles: [], groups: ['g-team'] }),
    tenant: tenant({ transitiveMembers: { 'g-team': [...users(ada), { id: 'u-guest-elsewhere' }] } }),
    want: { users: [upn(ada)] },
  },
  {
    name: 'keeps a disabled account in the observation, marked disabled, and says how many are held',
    tenant: tenant({ roleAssignments: [role(ada.id), role(dan.id)] }),
    want: {
      users: [upn(ada), upn(dan)], disabled: [upn(dan)],
      warnings: [{ code: 'DisabledAccountsSkipped', message: '1 targeted account is disabled: held in its stage and contacted by nobody until enabled again (a disabled account that never entered the campaign does not enter).' }],
    },
  },
  {
    name: 'excludes a break-glass account named by UPN',
    campaign: campaign({}, { breakGlass: ['BG1@contoso.com'] }),
    tenant: tenant({ roleAssignments: [role(ada.id), role(bg1.id)] }),
    want: { users: [upn(ada)], excluded: [{ userPrincipalName: upn(bg1), exclusion: 'breakGlass' }] },
  },
  {
    name: 'excludes a break-glass account named by object id',
    campaign: campaign({}, { breakGlass: [bg1.id.toUpperCase()] }),
    tenant: tenant({ roleAssignments: [role(ada.id), role(bg1.id)] }),
    want: { users: [upn(ada)], excluded: [{ userPrincipalName: upn(bg1), exclusion: 'breakGlass' }] },
  },
  {
    name: 'reports a break-glass account that does not exist as an exemption problem, not a warning',
    campaign: campaign({}, { breakGlass: ['bg9@contoso.com'] }),
    tenant: tenant({ roleAssignments: [role(ada.id)] }),
    want: { users: [upn(ada)], problems: ['breakGlass bg9@contoso.com notFound'] },
  },
  {
    name: 'keeps excluding a break-glass account the ledger recorded although its entry no longer resolves',
    campaign: campaign({}, { breakGlass: ['bg1@contoso.com'] }),
    tenant: tenant({ users: [ada, { ...bg1, userPrincipalName: 'emergency1@contoso.com' }], roleAssignments: [role(ada.id), role(bg1.id)] }),
    recorded: [{ list: 'breakGlass', entry: 'bg1@contoso.com', objectId: bg1.id, userPrincipalName: 'bg1@contoso.com' }],
    want: { users: [upn(ada)], excluded: [{ userPrincipalName: 'emergency1@contoso.com', exclusion: 'breakGlass' }], problems: ['breakGlass bg1@contoso.com notFound'] },
  },
  {
    name: 'keeps excluding an excluded user the ledger recorded whose entry was retired',
    campaign: campaign({}, { retired: [{ entry: 'bob@contoso.com', from: 'users', by: 'alice@contoso.com', reason: 'left' }] }),
    tenant: tenant({ roleAssignments: [role(ada.id), role(bob.id)] }),
    recorded: [{ list: 'users', entry: 'bob@contoso.com', objectId: bob.id, userPrincipalName: 'bob@contoso.com' }],
    want: { users: [upn(ada)], excluded: [{ userPrincipalName: upn(bob), exclusion: 'user' }] },
  },
  {
    name: 'excludes a user listed in spec.exclusions.users',
    campaign: campaign({}, { users: ['bob@contoso.com'] }),
    tenant: tenant({ roleAssignments: [role(ada.id), role(bob.id)] }),
    want: { users: [upn(ada)], excluded: [{ userPrincipalName: upn(bob), exclusion: 'user' }] },
  },
  {
    name: 'excludes the transitive members of a group in spec.exclusions.groups',
    campaign: campaign({}, { groups: ['g-exempt'] }),
    tenant: tenant({ roleAssignments: [role(ada.id), role(bob.id), role(cy.id)], transitiveMembers: { 'g-exempt': users(bob, cy) } }),
    want: { users: [upn(ada)], excluded: [{ userPrincipalName: upn(bob), exclusion: 'group' }, { userPrincipalName: upn(cy), exclusion: 'group' }] },
  },
  {
    name: 'names break-glass as the exclusion of an account that is also in an exclusion group',
    campaign: campaign({}, { groups: ['g-exempt'] }),
    tenant: tenant({ roleAssignments: [role(ada.id), role(bg1.id)], transitiveMembers: { 'g-exempt': users(bg1) } }),
    want: { users: [upn(ada)], excluded: [{ userPrincipalName: upn(bg1), exclusion: 'breakGlass' }] },
  },
  {
    name: 'puts every targeted user in FIDO2 scope when the policy includes all_users',
    tenant: tenant({ roleAssignments: [role(ada.id), role(bob.id)] }),
    want: { users: [upn(ada), upn(bob)], scope: { [upn(ada)]: true, [upn(bob)]: true } },
  },
  {
    name: 'marks a targeted user outside the FIDO2 include group as out of scope',
    tenant: tenant({
      roleAssignments: [role(ada.id), role(bob.id)],
      fido2Policy: fido2({ includeTargets: [{ id: 'g-fido', targetType: 'group' }] }),
      transitiveMembers: { 'g-fido': users(ada) },
    }),
    want: {
      users: [upn(ada), upn(bob)],
      scope: { [upn(ada)]: true, [upn(bob)]: false },
      warnings: [{ code: 'UsersOutsideFido2Scope', message: "1 targeted user is outside the FIDO2 policy's targets and cannot register a passkey; they are reported as blocked and not asked to register." }],
    },
  },
  {
    name: 'marks a member of the FIDO2 exclude group as out of scope although all_users is included',
    tenant: tenant({
      roleAssignments: [role(ada.id), role(bob.id), role(cy.id)],
      fido2Policy: fido2({ excludeTargets: [{ id: 'g-no-fido', targetType: 'group' }] }),
      transitiveMembers: { 'g-no-fido': users(bob, cy) },
    }),
    want: {
      users: [upn(ada), upn(bob), upn(cy)],
      scope: { [upn(ada)]: true, [upn(bob)]: false, [upn(cy)]: false },
      warnings: [{ code: 'UsersOutsideFido2Scope', message: "2 targeted users are outside the FIDO2 policy's targets and cannot register a passkey; they are reported as blocked and not asked to register." }],
    },
  },
  {
    name: 'warns when the FIDO2 method is not enabled',
    tenant: tenant({ roleAssignments: [role(ada.id)], fido2Policy: fido2({ state: 'disabled' }) }),
    want: {
      users: [upn(ada)],
      warnings: [{ code: 'Fido2NotEnabled', message: 'the FIDO2 (passkey) method is not enabled in the Authentication methods policy: nobody can register a passkey. Enable it before starting the campaign.' }],
    },
  },
  {
    name: 'warns when FIDO2 self-service registration is not allowed',
    tenant: tenant({ roleAssignments: [role(ada.id)], fido2Policy: fido2({ isSelfServiceRegistrationAllowed: false }) }),
    want: {
      users: [upn(ada)],
      warnings: [{ code: 'Fido2SelfServiceNotAllowed', message: 'FIDO2 self-service registration is not allowed: users cannot register passkeys themselves.' }],
    },
  },
  {
    name: 'gives a user without a userRegistrationDetails row a per-user read error',
    tenant: tenant({ roleAssignments: [role(ada.id), role(bob.id)], unregistered: [bob] }),
    want: { users: [upn(ada), upn(bob)], userReadErrors: { [upn(bob)]: [MISSING_REGISTRATION_ROW] } },
  },
  {
    name: 'gives a passkey holder whose fido2Methods read failed under AAGUID restrictions a per-user read error',
    tenant: tenant({
      roleAssignments: [role(ada.id), role(bob.id)],
      passkeys: [ada, bob],
      fido2Policy: fido2({ keyRestrictions: { isEnforced: true, enforcementType: 'allow', aaGuids: [YUBIKEY] } }),
      fido2Methods: { [ada.id]: { ok: true, methods: [] }, [bob.id]: { ok: false, status: 503 } },
    }),
    want: { users: [upn(ada), upn(bob)], userReadErrors: { [upn(bob)]: ['fido2Methods read failed (503)'] } },
  },
  {
    name: 'warns that a target group that answers 404 targets nobody',
    campaign: campaign({ groups: ['g-gone'] }),
    tenant: tenant({ roleAssignments: [role(ada.id)], transitiveMembers: { 'g-gone': null } }),
    want: { users: [upn(ada)], warnings: [{ code: 'TargetGroupMissing', message: 'target group g-gone does not exist; nobody is targeted through it.' }] },
  },
  {
    name: 'warns about a target user that does not exist',
    campaign: campaign({ users: ['zed@contoso.com'] }),
    tenant: tenant({ roleAssignments: [role(ada.id)] }),
    want: { users: [upn(ada)], warnings: [{ code: 'TargetUserMissing', message: 'target user zed@contoso.com does not exist in the tenant.' }] },
  },
  {
    name: 'reports an exclusion group that answers 404 as an exemption problem, not a warning',
    campaign: campaign({}, { groups: ['g-gone'] }),
    tenant: tenant({ roleAssignments: [role(ada.id)], transitiveMembers: { 'g-gone': null } }),
    want: { users: [upn(ada)], problems: ['groups g-gone notFound'] },
  },
  {
    name: 'targets nobody through a role-assignable group or service principal that answers 404, silently (the target-drop guard watches)',
    tenant: tenant({ roleAssignments: [role(ada.id), role('g-role-gone'), role('sp-1')], transitiveMembers: { 'g-role-gone': null, 'sp-1': null } }),
    want: { users: [upn(ada)] },
  },
  {
    name: 'puts nobody in FIDO2 scope through an include group that answers 404, and says so',
    tenant: tenant({
      roleAssignments: [role(ada.id), role(bob.id)],
      fido2Policy: fido2({ includeTargets: [{ id: 'g-fido', targetType: 'group' }, { id: 'g-fido-gone', targetType: 'group' }] }),
      transitiveMembers: { 'g-fido': users(ada), 'g-fido-gone': null },
    }),
    want: {
      users: [upn(ada), upn(bob)],
      scope: { [upn(ada)]: true, [upn(bob)]: false },
      warnings: [
        { code: 'Fido2ScopeGroupMissing', message: "the FIDO2 policy includes group g-fido-gone, which does not exist (404): nobody is in the policy's scope through it." },
        { code: 'UsersOutsideFido2Scope', message: "1 targeted user is outside the FIDO2 policy's targets and cannot register a passkey; they are reported as blocked and not asked to register." },
      ],
    },
  },
  {
    name: 'holds every user a FIDO2 exclude group that answers 404 might exclude, instead of treating them as in scope',
    tenant: tenant({
      roleAssignments: [role(ada.id), role(bob.id), role(cy.id)],
      fido2Policy: fido2({ includeTargets: [{ id: 'g-fido', targetType: 'group' }], excludeTargets: [{ id: 'g-no-fido-gone', targetType: 'group' }] }),
      transitiveMembers: { 'g-fido': users(ada, bob), 'g-no-fido-gone': null },
    }),
    want: {
      users: [upn(ada), upn(bob), upn(cy)],
      scope: { [upn(ada)]: null, [upn(bob)]: null, [upn(cy)]: false },
      userReadErrors: { [upn(ada)]: [FIDO2_SCOPE_UNKNOWN(['g-no-fido-gone'])], [upn(bob)]: [FIDO2_SCOPE_UNKNOWN(['g-no-fido-gone'])] },
      warnings: [
        { code: 'Fido2ScopeGroupMissing', message: 'the FIDO2 policy excludes group g-no-fido-gone, which does not exist (404): whom it would exclude cannot be told, so 2 targeted users otherwise in scope make no move until the policy no longer names it or the group is restored.' },
        { code: 'UsersOutsideFido2Scope', message: "1 targeted user is outside the FIDO2 policy's targets and cannot register a passkey; they are reported as blocked and not asked to register." },
      ],
    },
  },
  {
    name: 'plans with an empty enforcement group that does not exist yet, and says so',
    tenant: tenant({ roleAssignments: [role(ada.id)], enforcementGroup: null }),
    want: {
      users: [upn(ada)],
      warnings: [{ code: 'EnforcementGroupMissing', message: 'enforcement group "passkey-campaign-admins-passkeys-enforced" does not exist in the tenant. Planning as if it were empty; pulumi up creates it when the campaign is deployed.' }],
    },
  },
  {
    name: 'resolves nobody and names the read when a campaign-level read failed',
    tenant: tenant({
      roleAssignments: [role(ada.id)],
      devices: [],
      readErrors: [{ read: 'devices', status: 500, code: 'InternalServerError', message: 'GET /devices: 500 InternalServerError: boom' }],
    }),
    want: { users: [], readErrors: ['GET /devices: 500 InternalServerError: boom'] },
  },
];

describe('resolveTargets: one row per targeting rule', () => {
  it.each(cases)('$name', ({ campaign: c = campaign(), tenant: s, recorded = [], want }) => {
    const ledger = foldExemptions(recorded.map((x): LedgerEvent => ({ v: 1, at: NOW, runId: 'r0', type: 'exemptionResolved', ...x })));
    const r = resolveTargets(c, s, NOW, ledger);
    const o = r.observation;
    expect(o.users.map((u) => u.userPrincipalName)).toEqual(want.users);
    expect(o.excluded.map((x) => ({ userPrincipalName: x.userPrincipalName, exclusion: x.exclusion }))).toEqual(want.excluded ?? []);
    expect(r.warnings).toEqual(want.warnings ?? []);
    expect(o.readErrors).toEqual(want.readErrors ?? []);
    expect(o.users.filter((u) => !u.accountEnabled).map((u) => u.userPrincipalName)).toEqual(want.disabled ?? []);
    expect(Object.fromEntries(o.users.map((u) => [u.userPrincipalName, u.inFido2PolicyScope]))).toEqual(want.scope ?? Object.fromEntries(want.users.map((u) => [u, true])));
    expect(Object.fromEntries(o.users.filter((u) => u.readErrors.length).map((u) => [u.userPrincipalName, u.readErrors]))).toEqual(want.userReadErrors ?? {});
    expect(r.exemptions.problems.map((p) => `${p.list} ${p.entry} ${p.problem}`)).toEqual(want.problems ?? []);
  });
});

describe('resolveTargets: what the run uses beside the targets', () => {
  it('copies devices, methods and enforcement-group membership onto each targeted user', () => {
    const s = tenant({
      roleAssignments: [role(ada.id)],
      passkeys: [ada],
      enforcementGroupMembers: users(ada),
      devices: [{ id: 'dev-1', displayName: 'ADA-LAPTOP', operatingSystem: 'Windows', operatingSystemVersion: '10.0.22631', approximateLastSignInDateTime: null, accountEnabled: null, registeredOwners: [{ id: 'U-ADA' }] }],
    });
    const r = resolveTargets(campaign(), s, NOW);
    expect(r.observation).toMatchObject({ v: 1, campaign: 'admins-passkeys', at: NOW, fido2Policy: { state: 'enabled', isSelfServiceRegistrationAllowed: true }, readErrors: [] });
    expect(r.observation.users).toEqual([{
      userId: ada.id, userPrincipalName: upn(ada), displayName: 'ada', mail: null, accountEnabled: true,
      devices: [{ id: 'dev-1', displayName: 'ADA-LAPTOP', operatingSystem: 'Windows', operatingSystemVersion: '10.0.22631', approximateLastSignInDateTime: null, accountEnabled: true }],
      methodsRegistered: ['passKeyDeviceBoundAuthenticator'], fido2Methods: null, inFido2PolicyScope: true, inEnforcementGroup: true, readErrors: [],
    }]);
    expect(r.group).toEqual(ENFORCEMENT_GROUP);
    expect([...r.groupMembers]).toEqual([ada.id]);
    expect(r.prerequisites).toEqual({ fido2Enabled: true, selfServiceRegistrationAllowed: true, aaGuidRestrictionsEnforced: false, qualifiesForMicrosoftManagedCampaign: true, outOfScopeUsers: 0 });
  });

  it('carries each user\'s mailbox address (Graph mail), or null when the user has none — never the UPN', () => {
    const withMail = { ...ada, mail: 'ada.lovelace@contoso.com' };
    const r = resolveTargets(campaign(), tenant({ users: [withMail, bob], roleAssignments: [role(ada.id), role(bob.id)] }), NOW);
    expect(r.observation.users.map((u) => [u.userPrincipalName, u.mail])).toEqual([[upn(ada), 'ada.lovelace@contoso.com'], [upn(bob), null]]);
  });

  it('reads authenticator models of passkey holders only under AAGUID restrictions, lower-casing the AAGUID', () => {
    const methods = { [ada.id]: { ok: true as const, methods: [{ id: 'm-1', aaGuid: YUBIKEY.toUpperCase(), model: 'YubiKey 5', displayName: 'key', createdDateTime: '2026-01-01T00:00:00Z' }] } };
    const restricted = tenant({ roleAssignments: [role(bob.id), role(ada.id), role(cy.id)], passkeys: [ada, bob], fido2Policy: fido2({ keyRestrictions: { isEnforced: true, enforcementType: 'allow', aaGuids: [YUBIKEY] } }), fido2Methods: methods });
    expect(fido2MethodReads(campaign(), restricted)).toEqual([bob.id, ada.id]); // discovery order: the order of the $batch requests
    const r = resolveTargets(campaign(), { ...restricted, fido2Methods: { ...methods, [bob.id]: { ok: true, methods: [] } } }, NOW);
    const want: Record<string, ObservedFido2Method[] | null> = { [upn(ada)]: [{ id: 'm-1', aaGuid: YUBIKEY, model: 'YubiKey 5', displayName: 'key', createdDateTime: '2026-01-01T00:00:00Z' }], [upn(bob)]: [], [upn(cy)]: null };
    expect(Object.fromEntries(r.observation.users.map((u) => [u.userPrincipalName, u.fido2Methods]))).toEqual(want);
    expect(r.prerequisites).toMatchObject({ aaGuidRestrictionsEnforced: true, qualifiesForMicrosoftManagedCampaign: false });

    const open = tenant({ roleAssignments: [role(ada.id)], passkeys: [ada] });
    expect(fido2MethodReads(campaign(), open)).toEqual([]);
  });

  it('asks observe to expand non-user role principals, target, exclusion and FIDO2 policy groups, each once and lower-case', () => {
    const c = campaign({ groups: ['G-Team', 'g-role-admins'] }, { groups: ['g-exempt'] });
    const s = tenant({
      roleAssignments: [role(ada.id), role('G-Role-Admins')],
      roleEligibilities: [role('g-eligible-admins')],
      fido2Policy: fido2({ includeTargets: [{ id: 'all_users' }, { id: 'g-fido' }], excludeTargets: [{ id: 'g-no-fido' }] }),
    });
    expect(groupsToExpand(c, s)).toEqual(['g-role-admins', 'g-eligible-admins', 'g-team', 'g-exempt', 'g-fido', 'g-no-fido']);
    expect(groupsToExpand(campaign({ includeEligible: false, roles: [] }), s)).toEqual(['g-fido', 'g-no-fido']);
  });

  it('keeps the enforcement group and its members, without prerequisites, when a read failed', () => {
    const s = tenant({ enforcementGroupMembers: users(ada), readErrors: [{ read: 'fido2Policy', status: 404, code: 'Request_ResourceNotFound', message: 'GET /policies/…/fido2: 404' }], fido2Policy: null });
    const r = resolveTargets(campaign(), s, NOW);
    expect(r).toMatchObject({ group: ENFORCEMENT_GROUP, warnings: [], prerequisites: null });
    expect([...r.groupMembers]).toEqual([ada.id]);
    expect(r.observation).toEqual({ v: 1, campaign: 'admins-passkeys', at: NOW, fido2Policy: null, users: [], excluded: [], readErrors: ['GET /policies/…/fido2: 404'] });
  });
});
