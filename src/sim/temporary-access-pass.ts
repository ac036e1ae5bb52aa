// Temporary Access Passes as Graph documents them (repository microsoftgraph/microsoft-graph-docs-contrib):
// - api-reference/v1.0/resources/temporaryaccesspassauthenticationmethod.md: the properties; `temporaryAccessPass`
//   "Returned only on creation … Hidden in subsequent read operations and returned as `null` with GET";
//   methodUsabilityReason `EnabledByPolicy`, `DisabledByPolicy`, `Expired`, `NotYetValid`, `OneTimeUsed`;
//   lifetimeInMinutes "Must be between 10 and 43200 inclusive".
// - api-reference/v1.0/api/authentication-post-temporaryaccesspassmethods.md: the optional isUsableOnce,
//   lifetimeInMinutes (default: the policy's defaultLifetimeInMinutes), startDateTime (default: now); "A multi-use
//   Temporary Access Pass (`isUsableOnce = false`), can only be created … if it is allowed by the … policy"; a new
//   pass for a user who has one replaces it ("the previous Temporary Access Pass will be deleted").
// - api-reference/v1.0/resources/temporaryaccesspassauthenticationmethodconfiguration.md: state, defaultLifetimeInMinutes,
//   defaultLength (8 to 48), minimumLifetimeInMinutes, maximumLifetimeInMinutes, isUsableOnce ("If `true`, all the
//   passes in the tenant will be restricted to one-time use"), includeTargets, excludeTargets.
// The pages name no status or code for a request the policy refuses (method disabled, user not targeted, lifetime
// outside the policy's limits, a multi-use pass the policy forbids): the emulator answers 400 `badRequest` with a
// message naming the policy property, the conservative choice for an invalid request.
import { createHash, randomInt, randomUUID } from 'node:crypto';
import type { FixtureMethodConfiguration, FixtureUser } from './fixture';
import { GraphHttpError } from './odata';
import type { StoredTemporaryAccessPass, TenantState } from './tenant-state';

/** Graph's documented bounds of any pass's lifetime, in minutes. */
export const TAP_LIFETIME_RANGE = { min: 10, max: 43200 } as const;
/** The TemporaryAccessPass configuration's defaults (its Get page's example: 60, 8, 60 to 480, multi-use allowed). */
const DEFAULTS = { defaultLifetimeInMinutes: 60, defaultLength: 8, minimumLifetimeInMinutes: 60, maximumLifetimeInMinutes: 480, isUsableOnce: false } as const;

/** The tenant's TemporaryAccessPass configuration (id compared ignoring case), if it has one. */
export function tapConfiguration(tenant: TenantState): FixtureMethodConfiguration | undefined {
  return (tenant.authenticationMethodsPolicy.authenticationMethodConfigurations ?? []).find((c) => c.id.toLowerCase() === 'temporaryaccesspass');
}

function limits(cfg: FixtureMethodConfiguration) {
  return {
    defaultLifetimeInMinutes: cfg.defaultLifetimeInMinutes ?? DEFAULTS.defaultLifetimeInMinutes,
    defaultLength: cfg.defaultLength ?? DEFAULTS.defaultLength,
    minimumLifetimeInMinutes: cfg.minimumLifetimeInMinutes ?? DEFAULTS.minimumLifetimeInMinutes,
    maximumLifetimeInMinutes: cfg.maximumLifetimeInMinutes ?? DEFAULTS.maximumLifetimeInMinutes,
    isUsableOnce: cfg.isUsableOnce ?? DEFAULTS.isUsableOnce,
  };
}

/** Whether the configuration's targets take in the user: an include target (all_users or a group holding them), no exclude target. */
function targeted(tenant: TenantState, cfg: FixtureMethodConfiguration, user: FixtureUser): boolean {
  const inTarget = (id: string | null | undefined) => {
    if (!id) return false;
    if (id.toLowerCase() === 'all_users') return true;
    if (id === user.id) return true;
    return tenant.groups.has(id) && tenant.transitiveMemberIds(id).includes(user.id);
  };
  const include = cfg.includeTargets ?? [{ id: 'all_users' }];
  if (!include.some((t) => inTarget(t.id))) return false;
  return !(cfg.excludeTargets ?? []).some((t) => inTarget(t.id));
}

const badRequest = (message: string) => new GraphHttpError(400, 'badRequest', message);

/** Why a pass is or is not usable now (resources/temporaryaccesspassauthenticationmethod.md, methodUsabilityReason). */
export function usability(tenant: TenantState, tap: StoredTemporaryAccessPass, nowMs: number): { isUsable: boolean; methodUsabilityReason: string } {
  const cfg = tapConfiguration(tenant);
  if (!cfg || cfg.state !== 'enabled') return { isUsable: false, methodUsabilityReason: 'DisabledByPolicy' };
  if (tap.usedDateTime) return { isUsable: false, methodUsabilityReason: 'OneTimeUsed' };
  const start = Date.parse(tap.startDateTime);
  if (nowMs < start) return { isUsable: false, methodUsabilityReason: 'NotYetValid' };
  if (nowMs >= start + tap.lifetimeInMinutes * 60_000) return { isUsable: false, methodUsabilityReason: 'Expired' };
  return { isUsable: true, methodUsabilityReason: 'EnabledByPolicy' };
}

/** A pass as Graph shows it: the pass itself only in the creation response, `null` on every read. */
export function shapeTap(tenant: TenantState, tap: StoredTemporaryAccessPass, nowMs: number, pass: string | null = null): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.temporaryAccessPassAuthenticationMethod',
    id: tap.id,
    temporaryAccessPass: pass,
    createdDateTime: tap.createdDateTime,
    startDateTime: tap.startDateTime,
    lifetimeInMinutes: tap.lifetimeInMinutes,
    isUsableOnce: tap.isUsableOnce,
    ...usability(tenant, tap, nowMs),
  };
}

// Letters and digits without the look-alikes (0/O, 1/l/I) plus a few symbols, as Entra's passes look ("+drkzqAD").
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789+#%&@';

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * POST /users/{id}/authentication/temporaryAccessPassMethods: checks the body against the policy, stores the pass
 * (replacing the user's earlier one) and returns it with the pass, the one time Graph shows it.
 */
export function createTap(tenant: TenantState, user: FixtureUser, body: Record<string, unknown>, nowMs: number): Record<string, unknown> {
  for (const k of Object.keys(body)) {
    if (k === '@odata.type') continue;
    if (!['isUsableOnce', 'lifetimeInMinutes', 'startDateTime'].includes(k))
      throw badRequest(`Property '${k}' cannot be set when creating a temporaryAccessPassAuthenticationMethod; use isUsableOnce, lifetimeInMinutes or startDateTime.`);
  }
  const cfg = tapConfiguration(tenant);
  if (!cfg || cfg.state !== 'enabled')
    throw badRequest('The Temporary Access Pass authentication method is disabled by policy (authenticationMethodConfigurations/TemporaryAccessPass state is not enabled).');
  if (!targeted(tenant, cfg, user))
    throw badRequest(`The user ${user.userPrincipalName} is not targeted by the Temporary Access Pass authentication method policy (includeTargets/excludeTargets).`);
  const l = limits(cfg);
  const lifetime = body.lifetimeInMinutes ?? l.defaultLifetimeInMinutes;
  if (typeof lifetime !== 'number' || !Number.isInteger(lifetime)) throw badRequest(`lifetimeInMinutes must be a whole number of minutes (got ${JSON.stringify(lifetime)}).`);
  const lo = Math.max(TAP_LIFETIME_RANGE.min, l.minimumLifetimeInMinutes);
  const hi = Math.min(TAP_LIFETIME_RANGE.max, l.maximumLifetimeInMinutes);
  if (lifetime < lo || lifetime > hi)
    throw badRequest(`lifetimeInMinutes ${lifetime} is outside the Temporary Access Pass policy's limits: minimumLifetimeInMinutes ${l.minimumLifetimeInMinutes}, maximumLifetimeInMinutes ${l.maximumLifetimeInMinutes}.`);
  const once = body.isUsableOnce ?? l.isUsableOnce;
  if (typeof once !== 'boolean') throw badRequest(`isUsableOnce must be true or false (got ${JSON.stringify(once)}).`);
  if (!once && l.isUsableOnce) throw badRequest('A multi-use Temporary Access Pass (isUsableOnce false) is not allowed: the Temporary Access Pass policy sets isUsableOnce to true.');
  const nowIso = new Date(nowMs).toISOString();
  let start = nowIso;
  if (body.startDateTime !== undefined && body.startDateTime !== null) {
    if (typeof body.startDateTime !== 'string' || Number.isNaN(Date.parse(body.startDateTime)))
      throw badRequest(`startDateTime must be an ISO 8601 date-time (got ${JSON.stringify(body.startDateTime)}).`);
    start = new Date(body.startDateTime).toISOString();
  }
  let pass = '';
  for (let i = 0; i < l.defaultLength; i++) pass += ALPHABET[randomInt(ALPHABET.length)];
  const tap: StoredTemporaryAccessPass = { id: randomUUID(), createdDateTime: nowIso, startDateTime: start, lifetimeInMinutes: lifetime, isUsableOnce: once, passSha256: sha256(pass) };
  tenant.putTemporaryAccessPass(user.id, tap);
  return shapeTap(tenant, tap, nowMs, pass);
}

/**
 * Why the user cannot sign in with a pass at `atMs` (with `pass`, when given, compared with the one issued), or
 * undefined when they can.
 */
export function tapSignInProblem(tenant: TenantState, user: FixtureUser, atMs: number, pass: string | undefined): string | undefined {
  const tap = tenant.temporaryAccessPass(user.id);
  if (!tap) return `${user.userPrincipalName} has no Temporary Access Pass; create one first (POST /users/{id}/authentication/temporaryAccessPassMethods).`;
  if (pass !== undefined && sha256(pass) !== tap.passSha256) return `the Temporary Access Pass given is not the one issued to ${user.userPrincipalName}.`;
  const u = usability(tenant, tap, atMs);
  if (!u.isUsable) return `the Temporary Access Pass of ${user.userPrincipalName} is not usable at that time (${u.methodUsabilityReason}).`;
  return undefined;
}

/** Records a sign-in with the user's pass: a usable-once pass is used up (methodUsabilityReason OneTimeUsed). */
export function useTap(tenant: TenantState, user: FixtureUser, at: string): void {
  const tap = tenant.temporaryAccessPass(user.id);
  if (tap?.isUsableOnce && !tap.usedDateTime) tenant.putTemporaryAccessPass(user.id, { ...tap, usedDateTime: at });
}
