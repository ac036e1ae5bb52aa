// The emulator's in-memory tenant: collections keyed by id plus the indexes that keep 100,000 users fast
// (UPN → id, group → member set, user → fido2 methods).
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
  FixtureSignIn,
  FixtureTeamsApp,
  FixtureUser,
  IdCollection,
  TenantFixture,
} from './fixture';
import { ID_COLLECTIONS } from './fixture';

/** An insertion-ordered map with a cached array for paging. */
export class Collection<T extends { id: string }> {
  private readonly byId = new Map<string, T>();
  private list: T[] | undefined;
  /** Bumped on every change, so what is derived from the collection knows when to derive again. */
  version = 0;

  constructor(items: readonly T[] = []) {
    for (const item of items) this.byId.set(item.id, item);
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  all(): readonly T[] {
    this.list ??= [...this.byId.values()];
    return this.list;
  }

  /** Shallow-merges into an existing item, or inserts. Returns the stored item and the one it replaced. */
  upsert(patch: T): { item: T; previous: T | undefined } {
    const previous = this.byId.get(patch.id);
    const item = previous ? ({ ...previous, ...patch } as T) : patch;
    this.byId.set(item.id, item);
    this.list = undefined;
    this.version++;
    return { item, previous };
  }

  delete(id: string): T | undefined {
    const old = this.byId.get(id);
    if (old) {
      this.byId.delete(id);
      this.list = undefined;
      this.version++;
    }
    return old;
  }
}

export type GroupRecord = Omit<FixtureGroup, 'members'>;
export type DirectoryObject =
  | { type: 'user'; item: FixtureUser }
  | { type: 'group'; item: GroupRecord }
  | { type: 'device'; item: FixtureDevice };

/** Passkey method names in userRegistrationDetails.methodsRegistered (DESIGN §6). */
export const PASSKEY_METHODS = [
  'passKeyDeviceBound',
  'passKeyDeviceBoundAuthenticator',
  'passKeyDeviceBoundWindowsHello',
  'passKeySynced',
  'fido2SecurityKey',
] as const;

/** Which methodsRegistered names a passkey with this AAGUID implies (unknown AAGUIDs count as device-bound). */
export function passkeyMethodsFor(aaGuid: string | null | undefined): string[] {
  const g = (aaGuid ?? '').toLowerCase();
  if (AUTHENTICATOR_AAGUIDS.has(g)) return ['passKeyDeviceBound', 'passKeyDeviceBoundAuthenticator'];
  if (WINDOWS_HELLO_AAGUIDS.has(g)) return ['passKeyDeviceBound', 'passKeyDeviceBoundWindowsHello'];
  if (SYNCED_AAGUIDS.has(g)) return ['passKeySynced'];
  return ['passKeyDeviceBound', 'fido2SecurityKey'];
}

export const AUTHENTICATOR_AAGUIDS = new Set(['90a3ccdf-635c-4729-a248-9b709135078f', 'de1e552d-db1d-4423-a619-566b625cdc84']);
export const WINDOWS_HELLO_AAGUIDS = new Set([
  '08987058-cadc-4b81-b6e1-30de50dcbe96',
  '9ddd1817-af5a-4672-a2b9-3e3dd95000a9',
  '6028b017-b1d4-4c02-b4b3-afcdafc96bb2',
]);
export const SYNCED_AAGUIDS = new Set(['fbfc3007-154e-4ecc-8c0b-6e020557d7bd', 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4']);

export interface PatchSummary {
  upserted: Record<string, number>;
  removed: Record<string, number>;
}

/** What PATCH /_sim/tenant may remove, by id (`fido2Methods` by user id → method ids). */
export interface TenantRemoval {
  users?: string[];
  userRegistrationDetails?: string[];
  devices?: string[];
  roleDefinitions?: string[];
  roleAssignments?: string[];
  roleEligibilityScheduleInstances?: string[];
  groups?: string[];
  conditionalAccessPolicies?: string[];
  teamsApps?: string[];
  signIns?: string[];
  fido2Methods?: Record<string, string[]>;
  /** User id → Teams app ids to uninstall. */
  teamsAppInstallations?: Record<string, string[]>;
  /** UPNs or ids whose mailbox goes away. */
  mailboxes?: string[];
}

/** A message in a mailbox folder (Graph's message shape, the fields sendMail stores). */
export interface SentMessage {
  id: string;
  createdDateTime: string;
  sentDateTime: string;
  subject: string | null;
  toRecipients: unknown[];
  internetMessageHeaders?: unknown[];
  /** Stored, but like Graph only returned through $expand (not supported here); filterable. */
  singleValueExtendedProperties?: Array<{ id: string; value: string }>;
}

/**
 * A Temporary Access Pass as the emulator keeps it: Graph's properties (resources/temporaryaccesspassauthenticationmethod.md)
 * less the pass, which Graph returns only in the creation response; the emulator keeps only its SHA-256 so a simulated
 * sign-in can check the pass it is given, and nothing it serves or dumps can hold the pass.
 */
export interface StoredTemporaryAccessPass {
  id: string;
  createdDateTime: string;
  startDateTime: string;
  lifetimeInMinutes: number;
  isUsableOnce: boolean;
  /** When a usable-once pass was used to sign in. */
  usedDateTime?: string;
  passSha256: string;
}

export class TenantState {
  readonly users: Collection<FixtureUser>;
  readonly registrationDetails: Collection<FixtureRegistrationDetails>;
  readonly devices: Collection<FixtureDevice>;
  readonly roleDefinitions: Collection<FixtureRoleDefinition>;
  readonly roleAssignments: Collection<FixtureRoleAssignment>;
  readonly roleEligibilities: Collection<FixtureRoleEligibility>;
  readonly groups: Collection<GroupRecord>;
  readonly conditionalAccessPolicies: Collection<FixtureConditionalAccessPolicy>;
  readonly teamsApps: Collection<FixtureTeamsApp>;
  /** The sign-in logs (/auditLogs/signIns); see signInsNewestFirst for the order Graph lists them in. */
  readonly signIns: Collection<FixtureSignIn>;
  private signInOrder: { version: number; list: readonly FixtureSignIn[] } | undefined;
  /** undefined: the fixture has no `teamsAppInstallations` key, so every user counts as having every app. */
  private installations: Map<string, Set<string>> | undefined;
  /** undefined: the fixture has no `mailboxes` key, so every user has a mailbox. Lower-case UPNs and ids. */
  private mailboxSet: Set<string> | undefined;
  authenticationMethodsPolicy: FixtureAuthenticationMethodsPolicy;
  /** undefined: the fixture has no `application` key, so every permission is granted. */
  application: FixtureApplication | undefined;
  private readonly upnIndex = new Map<string, string>();
  private readonly members = new Map<string, Set<string>>();
  /** Bumped on every membership change (see memberObjects). */
  private membersVersion = 0;
  private readonly resolvedMembers = new Map<string, { stamp: string; objects: DirectoryObject[] }>();
  private readonly fido2 = new Map<string, FixtureFido2Method[]>();
  /** Temporary Access Passes per user id (at most one each); the pass itself only as its SHA-256 (see StoredTemporaryAccessPass). */
  private readonly taps = new Map<string, StoredTemporaryAccessPass>();
  /** Sent Items per sender user id, oldest first (sendMail with saveToSentItems). */
  private readonly sent = new Map<string, SentMessage[]>();

  constructor(fixture: TenantFixture) {
    this.users = new Collection();
    for (const u of fixture.users ?? []) this.putUser(u);
    this.registrationDetails = new Collection(fixture.userRegistrationDetails ?? []);
    this.devices = new Collection((fixture.devices ?? []).map((d) => ({ accountEnabled: true, ...d })));
    this.roleDefinitions = new Collection(fixture.roleDefinitions ?? []);
    this.roleAssignments = new Collection((fixture.roleAssignments ?? []).map((a) => ({ directoryScopeId: '/', ...a })));
    this.roleEligibilities = new Collection((fixture.roleEligibilityScheduleInstances ?? []).map((a) => ({ directoryScopeId: '/', ...a })));
    this.groups = new Collection();
    for (const g of fixture.groups ?? []) this.putGroup(g);
    this.conditionalAccessPolicies = new Collection(fixture.conditionalAccessPolicies ?? []);
    this.teamsApps = new Collection(fixture.teamsApps ?? []);
    this.signIns = new Collection(fixture.signIns ?? []);
    if (fixture.teamsAppInstallations) this.installations = new Map(Object.entries(fixture.teamsAppInstallations).map(([u, ids]) => [u, new Set(ids)]));
    if (fixture.mailboxes) this.mailboxSet = new Set(fixture.mailboxes.map((m) => m.toLowerCase()));
    if (fixture.application) this.application = structuredClone(fixture.application);
    for (const [userId, methods] of Object.entries(fixture.fido2Methods ?? {})) this.fido2.set(userId, [...methods]);
    this.authenticationMethodsPolicy = structuredClone(fixture.authenticationMethodsPolicy ?? defaultAuthenticationMethodsPolicy());
  }

  private putUser(patch: FixtureUser): void {
    const { item, previous } = this.users.upsert(withUserDefaults(patch, this.users.get(patch.id)));
    if (previous && previous.userPrincipalName.toLowerCase() !== item.userPrincipalName.toLowerCase())
      this.upnIndex.delete(previous.userPrincipalName.toLowerCase());
    this.upnIndex.set(item.userPrincipalName.toLowerCase(), item.id);
  }

  private putGroup(g: FixtureGroup): void {
    const { members, ...rest } = g;
    this.groups.upsert(rest);
    if (members !== undefined || !this.members.has(g.id)) this.members.set(g.id, new Set(members ?? []));
    this.membersVersion++;
  }

  /** A user by object id or UPN (case-insensitive), as /users/{id|upn} resolves it. */
  findUser(idOrUpn: string): FixtureUser | undefined {
    const byId = this.users.get(idOrUpn);
    if (byId) return byId;
    const id = this.upnIndex.get(idOrUpn.toLowerCase());
    return id === undefined ? undefined : this.users.get(id);
  }

  findUserByUpn(upn: string): FixtureUser | undefined {
    const id = this.upnIndex.get(upn.toLowerCase());
    return id === undefined ? undefined : this.users.get(id);
  }

  directoryObject(id: string): DirectoryObject | undefined {
    const user = this.users.get(id);
    if (user) return { type: 'user', item: user };
    const group = this.groups.get(id);
    if (group) return { type: 'group', item: group };
    const device = this.devices.get(id);
    if (device) return { type: 'device', item: device };
    return undefined;
  }

  memberIds(groupId: string): ReadonlySet<string> {
    return this.members.get(groupId) ?? new Set();
  }

  /** Members of a group and of its nested groups, each once, breadth first (nested groups included). */
  transitiveMemberIds(groupId: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>([groupId]);
    const queue = [groupId];
    for (let i = 0; i < queue.length; i++) {
      for (const m of this.memberIds(queue[i]!)) {
        if (seen.has(m)) continue;
        seen.add(m);
        out.push(m);
        if (this.groups.has(m)) queue.push(m);
      }
    }
    return out;
  }

  /**
   * The directory objects among a group's members (`transitive`: its nested groups' too), only users or groups
   * with `cast`. Kept until the tenant changes, so paging through a group of a million members resolves its
   * ids once, not once per page.
   */
  memberObjects(groupId: string, transitive: boolean, cast: 'user' | 'group' | undefined): readonly DirectoryObject[] {
    const stamp = `${this.membersVersion}.${this.users.version}.${this.groups.version}.${this.devices.version}`;
    const key = `${groupId} ${transitive} ${cast ?? ''}`;
    const known = this.resolvedMembers.get(key);
    if (known && known.stamp === stamp) return known.objects;
    const objects: DirectoryObject[] = [];
    for (const id of transitive ? this.transitiveMemberIds(groupId) : this.memberIds(groupId)) {
      const obj = this.directoryObject(id);
      if (obj && (!cast || obj.type === cast)) objects.push(obj);
    }
    // A handful of groups are paged at a time; older answers go rather than pile up.
    if (this.resolvedMembers.size >= 8) this.resolvedMembers.clear();
    this.resolvedMembers.set(key, { stamp, objects });
    return objects;
  }

  isMember(groupId: string, objectId: string): boolean {
    return this.members.get(groupId)?.has(objectId) ?? false;
  }

  addMember(groupId: string, objectId: string): void {
    let set = this.members.get(groupId);
    if (!set) this.members.set(groupId, (set = new Set()));
    set.add(objectId);
    this.membersVersion++;
  }

  removeMember(groupId: string, objectId: string): boolean {
    this.membersVersion++;
    return this.members.get(groupId)?.delete(objectId) ?? false;
  }

  saveSentItem(senderId: string, message: SentMessage): void {
    let list = this.sent.get(senderId);
    if (!list) this.sent.set(senderId, (list = []));
    list.push(message);
  }

  sentItems(userId: string): readonly SentMessage[] {
    return this.sent.get(userId) ?? [];
  }

  /** Whether the fixture said who has a mailbox (`mailboxes`); without it every user has one. */
  get checksMailboxes(): boolean {
    return this.mailboxSet !== undefined;
  }

  /** Whether the user has a mailbox: always without a `mailboxes` key, else when listed by id or UPN. */
  hasMailbox(user: FixtureUser): boolean {
    return !this.mailboxSet || this.mailboxSet.has(user.id.toLowerCase()) || this.mailboxSet.has(user.userPrincipalName.toLowerCase());
  }

  /**
   * Whether one of these Teams apps is installed for the user: always without a `teamsAppInstallations`
   * key; `apps` undefined (no catalog to tell the sending app by) accepts any installed app.
   */
  hasTeamsApp(userId: string, apps: ReadonlySet<string> | undefined): boolean {
    if (!this.installations) return true;
    const installed = this.installations.get(userId);
    if (!installed || installed.size === 0) return false;
    return !apps || [...installed].some((id) => apps.has(id));
  }

  /**
   * The Teams app ids installed for the user: every catalog app without a `teamsAppInstallations` key (as
   * hasTeamsApp counts it), else the ones listed.
   */
  installedTeamsApps(userId: string): string[] {
    if (!this.installations) return this.teamsApps.all().map((a) => a.id);
    return [...(this.installations.get(userId) ?? [])];
  }

  /** Installs a Teams app for a user; false when it already was. Without installations tracked, nothing to record. */
  installTeamsApp(userId: string, appId: string): boolean {
    if (!this.installations) return true;
    const set = this.installations.get(userId) ?? new Set<string>();
    if (set.has(appId)) return false;
    set.add(appId);
    this.installations.set(userId, set);
    return true;
  }

  /** The user's Temporary Access Pass, if any (a user has at most one: authentication-list-temporaryaccesspassmethods.md). */
  temporaryAccessPass(userId: string): StoredTemporaryAccessPass | undefined {
    return this.taps.get(userId);
  }

  /** Sets the user's pass, replacing an earlier one (authentication-post-temporaryaccesspassmethods.md). */
  putTemporaryAccessPass(userId: string, tap: StoredTemporaryAccessPass): void {
    this.taps.set(userId, tap);
  }

  deleteTemporaryAccessPass(userId: string, id: string): boolean {
    if (this.taps.get(userId)?.id !== id) return false;
    this.taps.delete(userId);
    return true;
  }

  fido2Methods(userId: string): readonly FixtureFido2Method[] {
    return this.fido2.get(userId) ?? [];
  }

  exists(collection: IdCollection, id: string): boolean {
    return this.collection(collection).has(id);
  }

  private collection(name: IdCollection): Collection<{ id: string }> {
    switch (name) {
      case 'users':
        return this.users;
      case 'userRegistrationDetails':
        return this.registrationDetails;
      case 'devices':
        return this.devices;
      case 'roleDefinitions':
        return this.roleDefinitions;
      case 'roleAssignments':
        return this.roleAssignments;
      case 'roleEligibilityScheduleInstances':
        return this.roleEligibilities;
      case 'groups':
        return this.groups;
      case 'conditionalAccessPolicies':
        return this.conditionalAccessPolicies;
      case 'teamsApps':
        return this.teamsApps;
      case 'signIns':
        return this.signIns;
    }
  }

  /**
   * The sign-ins as signin-list.md lists them: "in descending order based on createdDateTime" (ties: id descending,
   * so paging is stable). Sorted once per change of the logs, not once per page.
   */
  signInsNewestFirst(): readonly FixtureSignIn[] {
    if (this.signInOrder?.version === this.signIns.version) return this.signInOrder.list;
    const keyed = this.signIns.all().map((s) => ({ s, t: Date.parse(s.createdDateTime) }));
    keyed.sort((a, b) => b.t - a.t || (a.s.id < b.s.id ? 1 : a.s.id > b.s.id ? -1 : 0));
    const list = keyed.map((k) => k.s);
    this.signInOrder = { version: this.signIns.version, list };
    return list;
  }

  /**
   * Upserts a validated partial fixture by id (`fido2Methods` by user id, then method id) and applies removals.
   * A user's passkey list changing also updates that user's userRegistrationDetails.methodsRegistered,
   * unless the same patch sets that user's registration details itself.
   */
  applyPatch(patch: TenantFixture, removal: TenantRemoval = {}): PatchSummary {
    const upserted: Record<string, number> = {};
    const removed: Record<string, number> = {};
    const count = (into: Record<string, number>, k: string, n = 1) => {
      if (n > 0) into[k] = (into[k] ?? 0) + n;
    };
    for (const u of patch.users ?? []) {
      this.putUser(u);
      count(upserted, 'users');
    }
    for (const g of patch.groups ?? []) {
      this.putGroup(g);
      count(upserted, 'groups');
    }
    const simple: Array<[IdCollection, Array<{ id: string }> | undefined]> = [
      ['userRegistrationDetails', patch.userRegistrationDetails],
      ['devices', patch.devices],
      ['roleDefinitions', patch.roleDefinitions],
      ['roleAssignments', patch.roleAssignments],
      ['roleEligibilityScheduleInstances', patch.roleEligibilityScheduleInstances],
      ['conditionalAccessPolicies', patch.conditionalAccessPolicies],
      ['teamsApps', patch.teamsApps],
      ['signIns', patch.signIns],
    ];
    for (const [name, items] of simple) {
      for (const item of items ?? []) {
        this.collection(name).upsert(item);
        count(upserted, name);
      }
    }
    const explicitDetails = new Set((patch.userRegistrationDetails ?? []).map((d) => d.id));
    const passkeysChanged = new Set<string>();
    for (const [userId, methods] of Object.entries(patch.fido2Methods ?? {})) {
      const list = [...(this.fido2.get(userId) ?? [])];
      for (const m of methods) {
        const at = list.findIndex((x) => x.id === m.id);
        if (at >= 0) list[at] = { ...list[at], ...m };
        else list.push(m);
        count(upserted, 'fido2Methods');
      }
      this.fido2.set(userId, list);
      passkeysChanged.add(userId);
    }
    // Installations and mailboxes are added to (a patch that names them switches the check on).
    for (const [userId, ids] of Object.entries(patch.teamsAppInstallations ?? {})) {
      this.installations ??= new Map();
      const set = this.installations.get(userId) ?? new Set<string>();
      for (const id of ids) set.add(id);
      this.installations.set(userId, set);
      count(upserted, 'teamsAppInstallations', ids.length);
    }
    if (patch.mailboxes) {
      this.mailboxSet ??= new Set();
      for (const m of patch.mailboxes) this.mailboxSet.add(m.toLowerCase());
      count(upserted, 'mailboxes', patch.mailboxes.length);
    }
    // The identity's permissions are replaced as a whole, as re-consenting an app would.
    if (patch.application) {
      this.application = structuredClone(patch.application);
      count(upserted, 'application');
    }
    if (patch.authenticationMethodsPolicy) {
      const { authenticationMethodConfigurations: configs, ...rest } = patch.authenticationMethodsPolicy;
      const current = this.authenticationMethodsPolicy;
      const merged = [...(current.authenticationMethodConfigurations ?? [])];
      for (const cfg of configs ?? []) {
        const at = merged.findIndex((x) => x.id.toLowerCase() === cfg.id.toLowerCase());
        if (at >= 0) merged[at] = { ...merged[at]!, ...cfg };
        else merged.push(cfg);
      }
      this.authenticationMethodsPolicy = { ...current, ...rest, authenticationMethodConfigurations: merged };
      count(upserted, 'authenticationMethodsPolicy');
    }

    for (const name of ID_COLLECTIONS) {
      for (const id of removal[name] ?? []) {
        const old = this.collection(name).delete(id);
        if (!old) continue;
        count(removed, name);
        if (name === 'users') this.upnIndex.delete((old as FixtureUser).userPrincipalName.toLowerCase());
        if (name === 'groups') {
          this.members.delete(id);
          this.membersVersion++;
        }
      }
    }
    for (const [userId, methodIds] of Object.entries(removal.fido2Methods ?? {})) {
      const list = this.fido2.get(userId) ?? [];
      const kept = list.filter((m) => !methodIds.includes(m.id));
      count(removed, 'fido2Methods', list.length - kept.length);
      this.fido2.set(userId, kept);
      passkeysChanged.add(userId);
    }

    for (const [userId, ids] of Object.entries(removal.teamsAppInstallations ?? {})) {
      const set = this.installations?.get(userId);
      for (const id of ids) if (set?.delete(id)) count(removed, 'teamsAppInstallations');
    }
    for (const m of removal.mailboxes ?? []) if (this.mailboxSet?.delete(m.toLowerCase())) count(removed, 'mailboxes');

    for (const userId of passkeysChanged) {
      if (!explicitDetails.has(userId)) this.syncPasskeyMethods(userId);
    }
    return { upserted, removed };
  }

  private syncPasskeyMethods(userId: string): void {
    const user = this.users.get(userId);
    const existing = this.registrationDetails.get(userId);
    if (!user && !existing) return;
    const others = (existing?.methodsRegistered ?? []).filter((m) => !(PASSKEY_METHODS as readonly string[]).includes(m));
    const passkeys = new Set<string>();
    for (const m of this.fido2Methods(userId)) for (const name of passkeyMethodsFor(m.aaGuid)) passkeys.add(name);
    const methodsRegistered = [...others, ...PASSKEY_METHODS.filter((m) => passkeys.has(m))];
    this.registrationDetails.upsert({
      id: userId,
      userPrincipalName: existing?.userPrincipalName ?? user?.userPrincipalName,
      userDisplayName: existing?.userDisplayName ?? user?.displayName ?? undefined,
      methodsRegistered,
      isPasswordlessCapable: passkeys.size > 0,
    });
  }

  /** The current tenant as a fixture (GET /_sim/tenant). */
  toFixture(): TenantFixture {
    const fido2Methods: Record<string, FixtureFido2Method[]> = {};
    for (const [userId, methods] of this.fido2) if (methods.length > 0) fido2Methods[userId] = [...methods];
    return {
      users: [...this.users.all()],
      userRegistrationDetails: [...this.registrationDetails.all()],
      fido2Methods,
      devices: [...this.devices.all()],
      roleDefinitions: [...this.roleDefinitions.all()],
      roleAssignments: [...this.roleAssignments.all()],
      roleEligibilityScheduleInstances: [...this.roleEligibilities.all()],
      groups: this.groups.all().map((g) => ({ ...g, members: [...this.memberIds(g.id)] })),
      authenticationMethodsPolicy: structuredClone(this.authenticationMethodsPolicy),
      conditionalAccessPolicies: [...this.conditionalAccessPolicies.all()],
      teamsApps: [...this.teamsApps.all()],
      signIns: [...this.signInsNewestFirst()],
      ...(this.installations ? { teamsAppInstallations: Object.fromEntries([...this.installations].map(([u, ids]) => [u, [...ids]])) } : {}),
      ...(this.mailboxSet ? { mailboxes: [...this.mailboxSet] } : {}),
      ...(this.application ? { application: structuredClone(this.application) } : {}),
    };
  }
}

// A new user without accountEnabled is enabled, as Graph creates them; a merge keeps the stored value.
function withUserDefaults(patch: FixtureUser, existing: FixtureUser | undefined): FixtureUser {
  return existing || patch.accountEnabled !== undefined ? patch : { ...patch, accountEnabled: true };
}

/** The policy a tenant has before anyone touches it: FIDO2 disabled. */
export function defaultAuthenticationMethodsPolicy(): FixtureAuthenticationMethodsPolicy {
  return {
    id: 'authenticationMethodsPolicy',
    displayName: 'Authentication Methods Policy',
    description: 'The tenant-wide policy that controls which authentication methods are allowed in the tenant.',
    policyVersion: '1.5',
    authenticationMethodConfigurations: [
      {
        '@odata.type': '#microsoft.graph.fido2AuthenticationMethodConfiguration',
        id: 'Fido2',
        state: 'disabled',
        isSelfServiceRegistrationAllowed: true,
        isAttestationEnforced: false,
        keyRestrictions: { isEnforced: false, enforcementType: 'block', aaGuids: [] },
        includeTargets: [{ targetType: 'group', id: 'all_users', isRegistrationRequired: false }],
        excludeTargets: [],
      },
    ],
  };
}
