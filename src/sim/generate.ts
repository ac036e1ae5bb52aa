// A realistic, deterministic tenant for the emulator: the same users/seed/now always give the same JSON.
// Admins over the 15 supported roles (active and PIM-eligible), a role-assignable group, two break-glass
// Global Administrators, devices of every platform with some below the passkey minimums, stale and disabled
// devices, disabled accounts, users with and without passkeys, the FIDO2 policy and the enforcement groups.
import { CA_STATE_ENABLED, CA_STATE_REPORT_ONLY, caPolicyName, graduatedCaPolicyName, graduatedGroupName } from '../contracts/names';
import { ROLE_DISPLAY_NAMES, SUPPORTED_ROLES, SUPPORTED_ROLE_NAMES, type SupportedRoleName } from '../contracts/roles';
import type {
  FixtureApplication,
  FixtureAuthenticationMethodsPolicy,
  FixtureConditionalAccessPolicy,
  FixtureDevice,
  FixtureFido2Method,
  FixtureGroup,
  FixtureRegistrationDetails,
  FixtureRoleAssignment,
  FixtureRoleDefinition,
  FixtureRoleEligibility,
  FixtureTeamsApp,
  FixtureUser,
  TenantFixture,
} from './fixture';
import { Prng } from './prng';
import { servicePrincipalIdOf } from './service-principals';
import { passkeyMethodsFor } from './tenant-state';
import { appIdOf, buildSignIn, stableGuid, evaluateSignIn, isModernClient, type ClientAppUsed, type SignInMethod, type SignInSubject } from './sign-ins';
import type { FixtureSignIn } from './fixture';

export interface GenerateOptions {
  /** Users in total, break-glass accounts and admins included (≥ 2). */
  users: number;
  seed?: number | string;
  /** The moment the tenant is a snapshot of; device sign-ins and registrations are dated relative to it. */
  now?: string | Date;
  domain?: string;
  /** Admins among `users` (break-glass not counted); default `adminCount(users)`, a realistic share. */
  admins?: number;
  /**
   * Also what `campaign doctor` checks beyond the directory: the calling identity (`application`, holding the
   * permissions every campaign needs), the campaign's Teams app in the org catalog and the sender mailbox
   * (`passkeys@<domain>`, one more user). Off by default: each changes how the emulator answers (permissions
   * enforced, the catalog's rules for Teams notifications) or what it holds.
   */
  prerequisites?: boolean;
  /**
   * Days of sign-in logs before `now` (default 0: none). Each enabled user signs in on most days, evaluated against
   * the generated Conditional Access policies (sign-ins.ts). At most MAX_GENERATED_SIGN_INS in all.
   */
  signInDays?: number;
}

/** Sign-ins `signInDays` may produce at most (users × days): each is a Graph object of about 2 KB in memory. */
export const MAX_GENERATED_SIGN_INS = 250_000;

/** The calling identity and Teams app of `prerequisites` (fixed so tests and docs can name them). */
export const SIM_APP = {
  /** Client id of the scheduler identity (AZURE_CLIENT_ID). */
  clientId: '5c000000-0000-4000-8000-000000000001',
  /** Catalog id of the campaign's Teams app (CAMPAIGN_TEAMS_APP_ID). */
  teamsAppId: '7e000000-0000-4000-8000-000000000001',
  /** Manifest id of the Teams app. */
  teamsManifestId: '7e000000-0000-4000-8000-000000000002',
  /** The sender mailbox's local part; the domain is the tenant's. */
  sender: 'passkeys',
} as const;

/** What the identity of `prerequisites` holds: every permission a campaign of either channel needs, group writes, and doctor's reads. */
export const SIM_APP_ROLES = [
  'User.Read.All',
  'GroupMember.Read.All',
  'GroupMember.ReadWrite.All',
  'AuditLog.Read.All',
  'UserAuthenticationMethod.Read.All',
  'Device.Read.All',
  'RoleManagement.Read.Directory',
  'Policy.Read.AuthenticationMethod',
  // Conditional Access policies (conditionalaccessroot-list-policies.md), for campaign doctor.
  'Policy.Read.All',
  'Mail.Send',
  'Mail.Read',
  'TeamsActivity.Send',
  'TeamsAppInstallation.ReadWriteSelfForUser.All',
  'Application.Read.All',
  'AppCatalog.Read.All',
] as const;

/** The default snapshot time, fixed so that output is reproducible (DESIGN §5's example `now`). */
export const GENERATOR_NOW = '2026-12-01T00:00:00.000Z';
export const DEFAULT_SEED = 1;
export const MAX_GENERATED_USERS = 1_000_000;

/** Ids and names that do not depend on the seed, so tests and demos can name them. */
export const SIM_IDS = {
  breakGlass1: 'b9000000-0000-4000-8000-000000000001',
  breakGlass2: 'b9000000-0000-4000-8000-000000000002',
  allStaffGroup: 'a1100000-0000-4000-8000-000000000001',
  roleAssignableGroup: 'a1100000-0000-4000-8000-000000000002',
  fido2ExclusionGroup: 'a1100000-0000-4000-8000-000000000003',
  adminsEnforcedGroup: 'a1100000-0000-4000-8000-000000000004',
  allStaffEnforcedGroup: 'a1100000-0000-4000-8000-000000000005',
  caRequireMfaForAdmins: 'c4000000-0000-4000-8000-000000000001',
  caBlockLegacyAuth: 'c4000000-0000-4000-8000-000000000002',
  caAdminsCampaign: 'c4000000-0000-4000-8000-000000000003',
  caAllStaffCampaign: 'c4000000-0000-4000-8000-000000000004',
} as const;

export const SIM_GROUP_NAMES = {
  allStaff: 'All staff',
  roleAssignable: 'role-helpdesk-administrators',
  fido2Exclusions: 'fido2-policy-exclusions',
  adminsEnforced: 'passkey-campaign-admins-passkeys-enforced',
  allStaffEnforced: 'passkey-campaign-all-staff-passkeys-enforced',
} as const;

/** The role the role-assignable group holds. */
export const ROLE_ASSIGNABLE_GROUP_ROLE: SupportedRoleName = 'HelpdeskAdministrator';

/** How many of `users` are admins (break-glass accounts not included). */
export function adminCount(users: number): number {
  const rest = users - 2;
  return Math.min(2000, Math.max(Math.min(15, Math.floor(rest / 2)), Math.round(users * 0.005)));
}

const FIRST = ['Adele', 'Alex', 'Allan', 'Bianca', 'Christie', 'Debra', 'Diego', 'Emily', 'Enrico', 'Gerhart', 'Grady', 'Henrietta', 'Irvin', 'Isaiah', 'Johanna', 'Joni', 'Lee', 'Lidia', 'Lynne', 'Megan', 'Miriam', 'Nestor', 'Patti', 'Pradeep', 'Raul', 'Sanjay', 'Sofia', 'Tomas', 'Yuki', 'Zainab', 'Amara', 'Bjorn', 'Chen', 'Dmitri', 'Fatima', 'Hana', 'Ingrid', 'Kwame', 'Lucia', 'Mateo'];
const LAST = ['Vance', 'Wilber', 'Deyoung', 'Pires', 'Cline', 'Berger', 'Siciliani', 'Braxton', 'Hernandez', 'Vetter', 'Archie', 'Kozlowski', 'Noble', 'Rossi', 'Lundgren', 'Sherman', 'Gu', 'Holloway', 'Robbins', 'Bowen', 'Fischer', 'Wilke', 'Fernandez', 'Gupta', 'Ortega', 'Patel', 'Morales', 'Novak', 'Tanaka', 'Okafor', 'Haddad', 'Larsen', 'Wang', 'Ivanova', 'Mensah', 'Kim', 'Dubois', 'Silva', 'Nakamura', 'Schmidt'];
const DEPARTMENTS = ['Sales', 'Finance', 'Engineering', 'Operations', 'Marketing', 'Legal', 'HR', 'Support', 'Research', 'IT'];

// Relative weights of the 15 roles among admin grants: helpdesk-style roles are common, Global Administrator rare.
const ROLE_WEIGHTS: Record<SupportedRoleName, number> = {
  AuthenticationAdministrator: 6,
  BillingAdministrator: 3,
  CloudApplicationAdministrator: 5,
  ConditionalAccessAdministrator: 3,
  ExchangeAdministrator: 6,
  GlobalAdministrator: 2,
  HelpdeskAdministrator: 14,
  IntuneAdministrator: 7,
  PasswordAdministrator: 6,
  PrivilegedAuthenticationAdministrator: 2,
  PrivilegedRoleAdministrator: 2,
  SecurityAdministrator: 6,
  SharePointAdministrator: 5,
  TeamsAdministrator: 6,
  UserAdministrator: 10,
};

type Os = 'windows' | 'ios' | 'macos' | 'android' | 'linux';
const OS_WEIGHTS: Array<[Os, number]> = [
  ['windows', 45],
  ['ios', 20],
  ['macos', 10],
  ['android', 23],
  ['linux', 2],
];
// [operatingSystem name as Entra records it, weight]
const OS_NAMES: Record<Os, Array<[string, number]>> = {
  windows: [['Windows', 1]],
  ios: [
    ['iOS', 60],
    ['IPhone', 25],
    ['iPadOS', 15],
  ],
  macos: [
    ['MacMDM', 60],
    ['Mac OS X', 40],
  ],
  android: [
    ['Android', 65],
    ['AndroidForWork', 35],
  ],
  linux: [['Linux', 1]],
};
// [version, weight]; the ones below the passkey minimums (Windows 10.0.18362, iOS 17, macOS 13, Android 14) are marked.
const OS_VERSIONS: Record<Os, Array<[string, number]>> = {
  windows: [
    ['10.0.26100.2605', 15],
    ['10.0.22631.4602', 30],
    ['10.0.22621.4317', 10],
    ['10.0.19045.5247', 28],
    ['10.0.19044.3086', 4],
    ['10.0.18363.2274', 3],
    ['10.0.17763.6659', 5], // below
    ['10.0.17134.1304', 3], // below
    ['10.0.16299.2166', 2], // below
  ],
  ios: [
    ['18.1.1', 25],
    ['18.2', 20],
    ['17.6.1', 18],
    ['17.5.1', 8],
    ['26.1', 7],
    ['16.7.10', 12], // below
    ['16.3.1', 4], // below
    ['15.8.3', 6], // below
  ],
  macos: [
    ['15.1.1', 25],
    ['14.7.1', 30],
    ['14.6', 10],
    ['13.7.1', 15],
    ['12.7.6', 12], // below
    ['11.7.10', 8], // below
  ],
  android: [
    ['15', 25],
    ['14', 28],
    ['14.0', 7],
    ['16', 5],
    ['13', 20], // below
    ['12', 10], // below
    ['11', 5], // below
  ],
  linux: [
    ['22.04', 1],
    ['24.04', 1],
  ],
};

interface PasskeyKind {
  aaGuid: string;
  model: string;
  displayName: string;
  weight: number;
}
const PASSKEY_KINDS: PasskeyKind[] = [
  { aaGuid: '90a3ccdf-635c-4729-a248-9b709135078f', model: 'Microsoft Authenticator - iOS', displayName: 'Microsoft Authenticator', weight: 22 },
  { aaGuid: 'de1e552d-db1d-4423-a619-566b625cdc84', model: 'Microsoft Authenticator - Android', displayName: 'Microsoft Authenticator', weight: 18 },
  { aaGuid: '08987058-cadc-4b81-b6e1-30de50dcbe96', model: 'Windows Hello Hardware Authenticator', displayName: 'Windows Hello', weight: 20 },
  { aaGuid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8', model: 'YubiKey 5 Series', displayName: 'YubiKey', weight: 8 },
  { aaGuid: 'ee882879-721c-4913-9775-3dfcce97072a', model: 'YubiKey 5 Series with NFC', displayName: 'YubiKey NFC', weight: 8 },
  { aaGuid: '2fc0579f-8113-47ea-b116-bb5a8db9202a', model: 'YubiKey 5 Series with NFC', displayName: 'Security key', weight: 6 },
  { aaGuid: '833b721a-ff5f-4d00-bb2e-bdda3ec01e29', model: 'Feitian ePass FIDO2 Authenticator', displayName: 'Feitian key', weight: 3 },
  { aaGuid: 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd', model: 'iCloud Keychain', displayName: 'iCloud Keychain', weight: 10 },
  { aaGuid: 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4', model: 'Google Password Manager', displayName: 'Google Password Manager', weight: 5 },
];
const YUBIKEY_5 = PASSKEY_KINDS[4]!;

const OTHER_METHODS: Array<[string[], number]> = [
  [['microsoftAuthenticatorPush', 'softwareOneTimePasscode'], 40],
  [['microsoftAuthenticatorPush', 'mobilePhone'], 20],
  [['mobilePhone'], 12],
  [['microsoftAuthenticatorPush', 'windowsHelloForBusiness'], 15],
  [['email', 'mobilePhone'], 5],
  [[], 8],
];

/** A GUID as Graph's unifiedRoleAssignment ids encode it (base64url of the little-endian GUID bytes). */
function guidBase64(guid: string): string {
  const hex = guid.replace(/-/g, '');
  const bytes = Buffer.from(hex, 'hex');
  const swapped = Buffer.concat([Buffer.from(bytes.subarray(0, 4)).reverse(), Buffer.from(bytes.subarray(4, 6)).reverse(), Buffer.from(bytes.subarray(6, 8)).reverse(), bytes.subarray(8)]);
  return swapped.toString('base64url');
}

export function generateTenant(options: GenerateOptions): TenantFixture {
  const n = options.users;
  if (!Number.isInteger(n) || n < 2 || n > MAX_GENERATED_USERS)
    throw new RangeError(`users must be a whole number from 2 to ${MAX_GENERATED_USERS} (got ${n}); two of them are the break-glass accounts.`);
  const signInDays = options.signInDays ?? 0;
  if (!Number.isInteger(signInDays) || signInDays < 0 || signInDays > 90)
    throw new RangeError(`sign-in days (--sign-in-days) must be a whole number from 0 to 90 (got ${signInDays}).`);
  if (signInDays > 0 && n * signInDays > MAX_GENERATED_SIGN_INS) {
    const most = Math.floor(MAX_GENERATED_SIGN_INS / n);
    const fix = most > 0 ? `ask for fewer days with --sign-in-days (at most ${most} for ${n} users)` : 'generate without --sign-in-days';
    throw new RangeError(`${n} users over ${signInDays} days of sign-ins is more than the ${MAX_GENERATED_SIGN_INS} sign-ins a generated tenant holds; ${fix}, or record sign-ins later with POST /_sim/sign-ins.`);
  }
  const rng = new Prng(options.seed ?? DEFAULT_SEED);
  const domain = options.domain ?? 'contoso.com';
  const nowMs = new Date(options.now ?? GENERATOR_NOW).getTime();
  if (Number.isNaN(nowMs)) throw new RangeError(`now must be an ISO date-time (got ${String(options.now)}).`);
  const daysAgo = (days: number) => new Date(nowMs - Math.round(days * 86_400_000)).toISOString().replace(/\.\d{3}Z$/, 'Z');

  const users: FixtureUser[] = [];
  const registration: FixtureRegistrationDetails[] = [];
  const fido2Methods: Record<string, FixtureFido2Method[]> = {};
  const devices: FixtureDevice[] = [];
  const assignments: FixtureRoleAssignment[] = [];
  const eligibilities: FixtureRoleEligibility[] = [];
  const admins: string[] = [];
  const regulars: string[] = [];

  if (options.admins !== undefined && !(Number.isInteger(options.admins) && options.admins >= 0 && options.admins <= n - 2)) {
    throw new RangeError(`admins must be a whole number from 0 to users - 2 (${n - 2}); got ${options.admins}`);
  }
  const adminTotal = options.admins ?? adminCount(n);
  const width = Math.max(4, String(n).length);

  const addUser = (id: string, upn: string, displayName: string, extra: Partial<FixtureUser>): FixtureUser => {
    const [givenName, ...rest] = displayName.split(' ');
    const user: FixtureUser = {
      id,
      userPrincipalName: upn,
      displayName,
      givenName: givenName ?? null,
      surname: rest.join(' ') || null,
      mail: upn,
      accountEnabled: true,
      ...extra,
    };
    users.push(user);
    return user;
  };

  const grant = (principalId: string, role: SupportedRoleName, eligible: boolean) => {
    const templateId = SUPPORTED_ROLES[role];
    const base = `${guidBase64(templateId)}${guidBase64(principalId)}`;
    if (eligible) {
      eligibilities.push({
        id: `${base}-1-e`,
        principalId,
        roleDefinitionId: templateId,
        directoryScopeId: '/',
        appScopeId: null,
        startDateTime: daysAgo(rng.int(10, 700)),
        endDateTime: null,
        memberType: 'Direct',
        roleEligibilityScheduleId: rng.guid(),
      });
    } else {
      assignments.push({ id: `${base}-1`, principalId, roleDefinitionId: templateId, directoryScopeId: '/' });
    }
  };

  // Break-glass: cloud-only Global Administrators with FIDO2 security keys, no registered devices.
  for (const [i, id] of [SIM_IDS.breakGlass1, SIM_IDS.breakGlass2].entries()) {
    addUser(id, `bg${i + 1}@${domain}`, `Break Glass ${i + 1}`, { givenName: 'Break Glass', surname: String(i + 1), jobTitle: 'Emergency access account' });
    grant(id, 'GlobalAdministrator', false);
    fido2Methods[id] = [
      { id: rng.guid(), displayName: `Break-glass key ${i + 1}`, aaGuid: YUBIKEY_5.aaGuid, model: YUBIKEY_5.model, attestationLevel: 'attested', createdDateTime: daysAgo(rng.int(200, 900)) },
    ];
  }

  const name = () => `${rng.pick(FIRST)} ${rng.pick(LAST)}`;
  const slug = (displayName: string) => displayName.toLowerCase().replace(/[^a-z]+/g, '.');
  const roleChoices = SUPPORTED_ROLE_NAMES.map((r) => [r, ROLE_WEIGHTS[r]] as const);
  const adminRoles = new Map<string, SupportedRoleName[]>();

  for (let i = 0; i < adminTotal; i++) {
    const displayName = name();
    const serial = String(i + 1).padStart(width, '0');
    const id = rng.guid();
    addUser(id, `adm.${slug(displayName)}.${serial}@${domain}`, `${displayName} (admin)`, {
      givenName: displayName.split(' ')[0]!,
      surname: displayName.split(' ')[1]!,
      jobTitle: 'IT Administrator',
      department: 'IT',
      accountEnabled: !rng.chance(0.02),
    });
    admins.push(id);
    // Every role gets at least one admin, then grants follow the weights; 1–3 roles each.
    const roles = new Set<SupportedRoleName>();
    if (i < SUPPORTED_ROLE_NAMES.length) roles.add(SUPPORTED_ROLE_NAMES[i]!);
    const extra = rng.weighted<number>([
      [0, 70],
      [1, 25],
      [2, 5],
    ]);
    const want = Math.max(1, roles.size + extra);
    for (let tries = 0; roles.size < want && tries < 10; tries++) roles.add(rng.weighted(roleChoices));
    const list = [...roles];
    adminRoles.set(id, list);
    // Some grants are PIM-eligible rather than active: a quarter of admins by construction, others by chance.
    list.forEach((role, k) => grant(id, role, (k === 0 && i % 4 === 1) || rng.chance(0.15)));
  }

  const regularTotal = n - 2 - adminTotal;
  for (let i = 0; i < regularTotal; i++) {
    const displayName = name();
    const serial = String(i + 1).padStart(width, '0');
    const id = rng.guid();
    addUser(id, `${slug(displayName)}.${serial}@${domain}`, displayName, {
      department: rng.pick(DEPARTMENTS),
      accountEnabled: !rng.chance(0.03),
    });
    regulars.push(id);
  }

  // Managers (DESIGN §10 `managerId`, served as /users/{id}/manager, user-list-manager.md): one regular user in eight
  // leads a team; nine in ten others report to one of them and the team leads to one of the first leads; some
  // (new joiners, contractors) have none recorded, and the break-glass accounts never do. A random stream of its own,
  // so the rest of a seed's tenant stays as it was.
  const managerRng = new Prng(`${String(options.seed ?? DEFAULT_SEED)}:managers`);
  const leads = regulars.filter((_, i) => i % 8 === 0);
  const leadSet = new Set(leads);
  const byId = new Map(users.map((u) => [u.id, u]));
  const topLeads = leads.slice(0, Math.max(1, Math.ceil(leads.length / 8)));
  for (const id of [...admins, ...regulars]) {
    const isLead = leadSet.has(id);
    const pool = isLead ? topLeads : leads;
    if (!managerRng.chance(isLead ? 0.8 : 0.9)) continue;
    const manager = pool[managerRng.int(0, pool.length - 1)];
    if (manager !== undefined && manager !== id) byId.get(id)!.managerId = manager;
  }

  // Devices, passkeys and registration details per user.
  const isAdmin = new Set(admins);
  for (const user of users) {
    const id = user.id;
    const breakGlass = id === SIM_IDS.breakGlass1 || id === SIM_IDS.breakGlass2;
    const deviceCount = breakGlass
      ? 0
      : isAdmin.has(id)
        ? rng.weighted<number>([
            [1, 40],
            [2, 40],
            [3, 20],
          ])
        : rng.weighted<number>([
            [0, 10],
            [1, 45],
            [2, 30],
            [3, 15],
          ]);
    const families: Os[] = [];
    for (let d = 0; d < deviceCount; d++) {
      const os = rng.weighted(OS_WEIGHTS);
      families.push(os);
      devices.push(makeDevice(rng, os, id, daysAgo));
    }
    if (!breakGlass) {
      const chance = isAdmin.has(id) ? 0.45 : 0.25;
      if (rng.chance(chance)) {
        const count = rng.chance(0.2) ? 2 : 1;
        const methods: FixtureFido2Method[] = [];
        for (let k = 0; k < count; k++) {
          const kind = pickPasskey(rng, families);
          methods.push({
            id: rng.guid(),
            displayName: kind.displayName,
            aaGuid: kind.aaGuid,
            model: kind.model,
            attestationLevel: kind.model.includes('Keychain') || kind.model.includes('Password Manager') ? 'notAttested' : 'attested',
            createdDateTime: daysAgo(rng.int(1, 600)),
          });
        }
        fido2Methods[id] = methods;
      }
    }
    const passkeyNames = new Set<string>();
    for (const m of fido2Methods[id] ?? []) for (const p of passkeyMethodsFor(m.aaGuid)) passkeyNames.add(p);
    const others = breakGlass ? [] : rng.weighted(OTHER_METHODS);
    const methodsRegistered = [...others, ...['passKeyDeviceBound', 'passKeyDeviceBoundAuthenticator', 'passKeyDeviceBoundWindowsHello', 'passKeySynced', 'fido2SecurityKey'].filter((p) => passkeyNames.has(p))];
    const mfa = methodsRegistered.some((m) => m !== 'email');
    registration.push({
      id,
      userPrincipalName: user.userPrincipalName,
      userDisplayName: user.displayName ?? '',
      isAdmin: breakGlass || isAdmin.has(id),
      isMfaRegistered: mfa,
      isPasswordlessCapable: passkeyNames.size > 0 || others.includes('windowsHelloForBusiness'),
      userPreferredMethodForSecondaryAuthentication: others.includes('microsoftAuthenticatorPush') ? 'push' : others.includes('mobilePhone') ? 'sms' : 'none',
      methodsRegistered,
      lastUpdatedDateTime: daysAgo(rng.int(0, 30)),
    });
  }

  // The role-assignable group holds Helpdesk Administrator for a few admins.
  const groupMembers: string[] = [];
  for (let tries = 0; groupMembers.length < Math.min(5, admins.length) && tries < 50; tries++) {
    const pick = rng.pick(admins);
    if (!groupMembers.includes(pick)) groupMembers.push(pick);
  }
  grant(SIM_IDS.roleAssignableGroup, ROLE_ASSIGNABLE_GROUP_ROLE, false);
  const fido2Excluded: string[] = regulars.slice(0, Math.min(3, regulars.length));

  const created = daysAgo(900);
  const group = (id: string, displayName: string, description: string, members: string[], extra: Partial<FixtureGroup> = {}): FixtureGroup => ({
    id,
    displayName,
    description,
    mailNickname: displayName.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
    mailEnabled: false,
    securityEnabled: true,
    groupTypes: [],
    isAssignableToRole: false,
    createdDateTime: created,
    ...extra,
    members,
  });
  const groups: FixtureGroup[] = [
    group(SIM_IDS.allStaffGroup, SIM_GROUP_NAMES.allStaff, 'Every employee (regular user accounts).', regulars),
    group(SIM_IDS.roleAssignableGroup, SIM_GROUP_NAMES.roleAssignable, `Members hold ${ROLE_DISPLAY_NAMES[ROLE_ASSIGNABLE_GROUP_ROLE]} through this group.`, groupMembers, {
      isAssignableToRole: true,
    }),
    group(SIM_IDS.fido2ExclusionGroup, SIM_GROUP_NAMES.fido2Exclusions, 'Users excluded from the FIDO2 (passkey) authentication method policy.', fido2Excluded),
    group(SIM_IDS.adminsEnforcedGroup, SIM_GROUP_NAMES.adminsEnforced, 'Enforcement group of the admins-passkeys campaign (managed by Pulumi).', []),
    group(SIM_IDS.allStaffEnforcedGroup, SIM_GROUP_NAMES.allStaffEnforced, 'Enforcement group of the all-staff-passkeys campaign (managed by Pulumi).', []),
  ];

  const roleDefinitions: FixtureRoleDefinition[] = SUPPORTED_ROLE_NAMES.map((r) => ({
    id: SUPPORTED_ROLES[r],
    displayName: ROLE_DISPLAY_NAMES[r],
    description: `Built-in role: ${ROLE_DISPLAY_NAMES[r]}.`,
    isBuiltIn: true,
    isEnabled: true,
    templateId: SUPPORTED_ROLES[r],
    version: '1',
  }));

  const fixture: TenantFixture = {
    users,
    userRegistrationDetails: registration,
    fido2Methods,
    devices,
    roleDefinitions,
    roleAssignments: assignments,
    roleEligibilityScheduleInstances: eligibilities,
    groups,
    authenticationMethodsPolicy: methodsPolicy(daysAgo(40)),
    conditionalAccessPolicies: [...caPolicies(daysAgo(400), daysAgo(60)), ...campaignPolicies(daysAgo(30))],
  };
  if (signInDays > 0) {
    fixture.signIns = generateSignIns(fixture, { seed: options.seed ?? DEFAULT_SEED, nowMs, days: signInDays, breakGlass: [SIM_IDS.breakGlass1, SIM_IDS.breakGlass2] });
  }
  if (options.prerequisites) {
    addUser(SIM_APP_SENDER_ID, `${SIM_APP.sender}@${domain}`, 'Passkey Campaign', { accountEnabled: false, jobTitle: 'Shared mailbox of the passkey campaign' });
    const application: FixtureApplication = { appId: SIM_APP.clientId, appRoles: [...SIM_APP_ROLES] };
    const app: FixtureTeamsApp = { id: SIM_APP.teamsAppId, externalId: SIM_APP.teamsManifestId, displayName: 'Passkey campaign', webApplicationInfoId: SIM_APP.clientId, activityTypes: ['passkeyCampaign'] };
    fixture.application = application;
    fixture.teamsApps = [app];
    // The stack makes the identity an owner of each enforcement group (passkey-campaign.ts).
    for (const g of groups) if (g.id === SIM_IDS.adminsEnforcedGroup || g.id === SIM_IDS.allStaffEnforcedGroup) g.owners = [servicePrincipalIdOf(SIM_APP.clientId)];
  }
  return fixture;
}

/** The shared sender mailbox's object id (`prerequisites`). */
export const SIM_APP_SENDER_ID = '5e000000-0000-4000-8000-000000000001';

// [application display name, weight]: what a user's day of work signs in to.
const SIGN_IN_APPS: Array<[string, number]> = [
  ['Microsoft Office', 30],
  ['Microsoft Teams', 30],
  ['Office 365 Exchange Online', 20],
  ['Outlook Mobile', 10],
  ['Office 365 SharePoint Online', 10],
];
// The legacy protocols a few users still have configured somewhere (an old mail client, a scanner, a phone).
const LEGACY_CLIENTS: Array<[ClientAppUsed, number]> = [
  ['IMAP4', 35],
  ['Exchange ActiveSync', 30],
  ['Authenticated SMTP', 20],
  ['POP3', 10],
  ['MAPI Over HTTP', 5],
];

/**
 * Plausible sign-in logs for the last `days` days: each enabled user (break-glass accounts aside) signs in on about
 * four days in five during working hours; users with a passkey mostly use it, the others password and MFA or a
 * password alone; one user in thirty also has a legacy client that signs in with a password. Seeded on its own, so
 * the rest of the tenant is the same with or without sign-ins.
 */
function generateSignIns(fixture: TenantFixture, o: { seed: number | string; nowMs: number; days: number; breakGlass: string[] }): FixtureSignIn[] {
  const rng = new Prng(`${o.seed}:sign-ins`);
  const policies = fixture.conditionalAccessPolicies ?? [];
  const members = new Map((fixture.groups ?? []).map((g) => [g.id, new Set(g.members ?? [])]));
  // Active role holders (directly or through a role-assignable group), by role template id.
  const roles = new Map<string, Set<string>>();
  for (const a of fixture.roleAssignments ?? []) {
    let set = roles.get(a.roleDefinitionId.toLowerCase());
    if (!set) roles.set(a.roleDefinitionId.toLowerCase(), (set = new Set()));
    const group = members.get(a.principalId);
    if (group) for (const m of group) set.add(m);
    else set.add(a.principalId);
  }
  const mfa = new Set((fixture.userRegistrationDetails ?? []).filter((d) => d.isMfaRegistered).map((d) => d.id));
  const skip = new Set(o.breakGlass);
  const out: FixtureSignIn[] = [];
  const startDay = Math.floor(o.nowMs / 86_400_000) - o.days;
  for (const user of fixture.users ?? []) {
    if (user.accountEnabled === false || skip.has(user.id)) continue;
    const passkeys = fixture.fido2Methods?.[user.id] ?? [];
    const legacy = rng.chance(1 / 30);
    for (let d = 0; d < o.days; d++) {
      if (!rng.chance(0.8)) continue;
      const atMs = (startDay + d) * 86_400_000 + rng.int(7 * 3600, 18 * 3600) * 1000;
      if (atMs >= o.nowMs) continue;
      const useLegacy = legacy && rng.chance(0.5);
      const clientApp: ClientAppUsed = useLegacy ? rng.weighted(LEGACY_CLIENTS) : rng.chance(0.45) ? 'Browser' : 'Mobile Apps and Desktop clients';
      const method: SignInMethod = !isModernClient(clientApp)
        ? 'password'
        : passkeys.length > 0 && rng.chance(0.75)
          ? 'passkey'
          : mfa.has(user.id) && rng.chance(0.8)
            ? 'passwordAndMfa'
            : 'password';
      const app = useLegacy ? 'Office 365 Exchange Online' : rng.weighted(SIGN_IN_APPS);
      const appId = appIdOf(app);
      const subject: SignInSubject = {
        userId: user.id,
        userType: user.userType,
        inGroup: (g) => members.get(g)?.has(user.id) ?? false,
        hasRole: (t) => roles.get(t.toLowerCase())?.has(user.id) ?? false,
        appId,
        clientApp,
        method,
        passkeyRegistered: passkeys.length > 0,
      };
      const at = new Date(atMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const passkey = method === 'passkey' ? passkeys[rng.int(0, passkeys.length - 1)] : undefined;
      out.push(buildSignIn({ user, at, app, appId, clientApp, method, passkey, id: rng.guid() }, evaluateSignIn(policies, subject)));
    }
  }
  return out;
}

function pickPasskey(rng: Prng, families: Os[]): PasskeyKind {
  // Authenticator passkeys follow the phones people have; Windows Hello follows Windows PCs.
  const weights = PASSKEY_KINDS.map((k) => {
    let w = k.weight;
    if (k.model.endsWith('iOS') && !families.includes('ios')) w = 1;
    if (k.model.endsWith('Android') && !families.includes('android')) w = 1;
    if (k.model.startsWith('Windows') && !families.includes('windows')) w = 1;
    return [k, w] as const;
  });
  return rng.weighted(weights);
}

function makeDevice(rng: Prng, os: Os, ownerId: string, daysAgo: (d: number) => string): FixtureDevice {
  const operatingSystem = rng.weighted(OS_NAMES[os]);
  const operatingSystemVersion = rng.weighted(OS_VERSIONS[os]);
  const stale = rng.chance(0.08);
  const lastSignIn = stale ? rng.int(366, 1100) : Math.floor(rng.next() * rng.next() * 120);
  const tag = () => rng.int(0, 0xffffff).toString(36).toUpperCase().padStart(5, '0');
  const displayName =
    os === 'windows'
      ? `${rng.pick(['DESKTOP', 'LAPTOP', 'CONTOSO-W'])}-${tag()}`
      : os === 'ios'
        ? operatingSystem === 'iPadOS'
          ? rng.pick(['iPad', 'iPad Pro', 'iPad Air'])
          : rng.pick(['iPhone', 'iPhone 15', 'iPhone 15 Pro', 'iPhone 16', 'iPhone 13'])
        : os === 'macos'
          ? rng.pick(['MacBook Pro', 'MacBook Air', 'Mac mini', 'iMac'])
          : os === 'android'
            ? rng.pick(['Pixel 8', 'Pixel 9', 'SM-S921B', 'SM-A546B', 'moto g84'])
            : `ubuntu-${tag().toLowerCase()}`;
  const trustType = os === 'windows' ? rng.weighted<string>([['AzureAd', 70], ['ServerAd', 30]]) : 'Workplace';
  return {
    id: rng.guid(),
    deviceId: rng.guid(),
    displayName,
    operatingSystem,
    operatingSystemVersion,
    approximateLastSignInDateTime: daysAgo(lastSignIn + rng.next()),
    registrationDateTime: daysAgo(lastSignIn + rng.int(20, 900)),
    accountEnabled: !rng.chance(0.04),
    trustType,
    isManaged: os !== 'linux' && rng.chance(0.85),
    registeredOwners: [ownerId],
  };
}

function methodsPolicy(lastModified: string): FixtureAuthenticationMethodsPolicy {
  return {
    id: 'authenticationMethodsPolicy',
    displayName: 'Authentication Methods Policy',
    description: 'The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings',
    lastModifiedDateTime: lastModified,
    policyVersion: '1.5',
    policyMigrationState: 'migrationComplete',
    // authenticationmethodspolicy-get.md: the Microsoft registration campaign, turned off so only the campaign asks users.
    registrationEnforcement: {
      authenticationMethodsRegistrationCampaign: {
        snoozeDurationInDays: 1,
        state: 'disabled',
        excludeTargets: [],
        includeTargets: [{ id: 'all_users', targetType: 'group', targetedAuthenticationMethod: 'microsoftAuthenticator' }],
      },
    },
    authenticationMethodConfigurations: [
      {
        '@odata.type': '#microsoft.graph.fido2AuthenticationMethodConfiguration',
        id: 'Fido2',
        state: 'enabled',
        isSelfServiceRegistrationAllowed: true,
        isAttestationEnforced: false,
        keyRestrictions: { isEnforced: false, enforcementType: 'block', aaGuids: [] },
        includeTargets: [{ targetType: 'group', id: 'all_users', isRegistrationRequired: false }],
        excludeTargets: [{ targetType: 'group', id: SIM_IDS.fido2ExclusionGroup }],
      },
      {
        '@odata.type': '#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration',
        id: 'MicrosoftAuthenticator',
        state: 'enabled',
        excludeTargets: [],
      },
      { '@odata.type': '#microsoft.graph.smsAuthenticationMethodConfiguration', id: 'Sms', state: 'disabled', excludeTargets: [] },
      // resources/temporaryaccesspassauthenticationmethodconfiguration.md: usable-once passes of 1 to 8 hours for everyone
      // but the FIDO2 exclusion group (the break-glass accounts never get one).
      {
        '@odata.type': '#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration',
        id: 'TemporaryAccessPass',
        state: 'enabled',
        defaultLifetimeInMinutes: 480,
        defaultLength: 8,
        minimumLifetimeInMinutes: 60,
        maximumLifetimeInMinutes: 1440,
        isUsableOnce: true,
        includeTargets: [{ targetType: 'group', id: 'all_users', isRegistrationRequired: false }],
        excludeTargets: [{ targetType: 'group', id: SIM_IDS.fido2ExclusionGroup }],
      },
      { '@odata.type': '#microsoft.graph.emailAuthenticationMethodConfiguration', id: 'Email', state: 'disabled', excludeTargets: [] },
    ],
  };
}

/**
 * The two campaigns' policies as the stack creates them (campaign/ca-policy.ts): report-only, only the enforcement
 * group, the break-glass accounts excluded, the Phishing-resistant MFA strength (resources/conditionalaccessgrantcontrols.md).
 */
function campaignPolicies(created: string): FixtureConditionalAccessPolicy[] {
  const breakGlass = [SIM_IDS.breakGlass1, SIM_IDS.breakGlass2];
  const policy = (id: string, campaign: string, group: string): FixtureConditionalAccessPolicy => ({
    id,
    displayName: caPolicyName(campaign),
    createdDateTime: created,
    modifiedDateTime: created,
    state: CA_STATE_REPORT_ONLY,
    sessionControls: null,
    conditions: {
      clientAppTypes: ['all'],
      applications: { includeApplications: ['All'], excludeApplications: [] },
      users: { includeUsers: [], excludeUsers: breakGlass, includeGroups: [group], excludeGroups: [], includeRoles: [], excludeRoles: [] },
    },
    grantControls: {
      operator: 'AND',
      builtInControls: [],
      customAuthenticationFactors: [],
      termsOfUse: [],
      authenticationStrength: { id: '00000000-0000-0000-0000-000000000004', displayName: 'Phishing-resistant MFA', policyType: 'builtIn' },
    },
  });
  return [
    policy(SIM_IDS.caAdminsCampaign, 'admins-passkeys', SIM_IDS.adminsEnforcedGroup),
    policy(SIM_IDS.caAllStaffCampaign, 'all-staff-passkeys', SIM_IDS.allStaffEnforcedGroup),
  ];
}

/**
 * What the stack adds to a tenant for a graduated campaign: the graduated group (empty) and an enabled policy for it
 * only, with the exclusions and grant of the campaign's report-only policy. null when the tenant has no policy of
 * that campaign (the generated tenant has those of the two example campaigns).
 */
export function graduatedResources(fixture: TenantFixture, campaign: string): { group: FixtureGroup; policy: FixtureConditionalAccessPolicy } | null {
  const base = (fixture.conditionalAccessPolicies ?? []).find((p) => p.displayName === caPolicyName(campaign));
  if (!base) return null;
  const group: FixtureGroup = {
    id: stableGuid(`graduated-group:${campaign}`),
    displayName: graduatedGroupName(campaign),
    description: `Graduated users of the ${campaign} campaign: their own sign-ins qualified them for the enabled policy (managed by Pulumi).`,
    mailNickname: graduatedGroupName(campaign),
    mailEnabled: false,
    securityEnabled: true,
    groupTypes: [],
    isAssignableToRole: false,
    members: [],
  };
  const users = base.conditions?.users;
  const policy = {
    ...structuredClone(base),
    id: stableGuid(`graduated-policy:${campaign}`),
    displayName: graduatedCaPolicyName(campaign),
    state: CA_STATE_ENABLED,
    conditions: { ...structuredClone(base.conditions), users: { ...structuredClone(users), includeUsers: [], includeGroups: [group.id], includeRoles: [] } },
  } as FixtureConditionalAccessPolicy;
  return { group, policy };
}

function caPolicies(created: string, modified: string): FixtureConditionalAccessPolicy[] {
  const breakGlass = [SIM_IDS.breakGlass1, SIM_IDS.breakGlass2];
  const common = { createdDateTime: created, modifiedDateTime: modified, sessionControls: null };
  return [
    {
      ...common,
      id: SIM_IDS.caRequireMfaForAdmins,
      displayName: 'Require MFA for administrators',
      state: 'enabled',
      conditions: {
        clientAppTypes: ['all'],
        applications: { includeApplications: ['All'], excludeApplications: [] },
        users: {
          includeUsers: [],
          excludeUsers: breakGlass,
          includeGroups: [],
          excludeGroups: [],
          includeRoles: Object.values(SUPPORTED_ROLES),
          excludeRoles: [],
        },
      },
      grantControls: { operator: 'OR', builtInControls: ['mfa'], customAuthenticationFactors: [], termsOfUse: [] },
    },
    {
      ...common,
      id: SIM_IDS.caBlockLegacyAuth,
      displayName: 'Block legacy authentication',
      state: 'enabled',
      conditions: {
        clientAppTypes: ['exchangeActiveSync', 'other'],
        applications: { includeApplications: ['All'], excludeApplications: [] },
        users: { includeUsers: ['All'], excludeUsers: breakGlass, includeGroups: [], excludeGroups: [], includeRoles: [], excludeRoles: [] },
      },
      grantControls: { operator: 'OR', builtInControls: ['block'], customAuthenticationFactors: [], termsOfUse: [] },
    },
  ];
}
