// Onboarding reads: the tenant's Temporary Access Pass method configuration and a candidate's manager. Read only
// for a campaign whose spec.onboarding.temporaryAccessPass is enabled with deliverTo manager, and the manager only
// for users about to get a pass. Graph reference: microsoftgraph/microsoft-graph-docs-contrib,
//   api-reference/v1.0/api/temporaryaccesspassauthenticationmethodconfiguration-get.md
//   api-reference/v1.0/api/user-list-manager.md (404 when the user has no manager)
import type { ManagerRead, ObservedManager, TapPolicy } from '../engine/onboarding';
import type { GraphReader } from '../graph/client';
import { GraphError } from '../graph/errors';
import { missingPermissionHint } from '../graph/permissions';

export const TAP_POLICY_PATH = '/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass';

/** The TAP configuration, or why it could not be established (the run then creates no pass). */
export async function readTapPolicy(graph: GraphReader): Promise<{ ok: true; policy: TapPolicy } | { ok: false; cause: string }> {
  let raw: Record<string, unknown>;
  try {
    raw = await graph.get<Record<string, unknown>>(TAP_POLICY_PATH);
  } catch (e) {
    return { ok: false, cause: `the Temporary Access Pass policy could not be read (${describe(e, 'GET', TAP_POLICY_PATH)})` };
  }
  const num = (k: string) => (typeof raw[k] === 'number' && Number.isFinite(raw[k]) ? (raw[k] as number) : null);
  const min = num('minimumLifetimeInMinutes');
  const max = num('maximumLifetimeInMinutes');
  const state = raw.state;
  if ((state !== 'enabled' && state !== 'disabled') || min === null || max === null || typeof raw.isUsableOnce !== 'boolean') {
    return { ok: false, cause: 'the Temporary Access Pass policy was read but lacks state, minimumLifetimeInMinutes, maximumLifetimeInMinutes or isUsableOnce' };
  }
  return { ok: true, policy: { state, minimumLifetimeInMinutes: min, maximumLifetimeInMinutes: max, isUsableOnce: raw.isUsableOnce } };
}

/** One user's manager: the manager, none (404), or the failure. */
export async function readManager(graph: GraphReader, userId: string): Promise<ManagerRead> {
  const path = `/users/${encodeURIComponent(userId)}/manager`;
  try {
    const m = await graph.get<Record<string, unknown>>(`${path}?$select=id,userPrincipalName,displayName,mail,accountEnabled`);
    const str = (k: string) => (typeof m[k] === 'string' && m[k] !== '' ? (m[k] as string) : null);
    const id = str('id');
    // A manager that is not a user (an org contact) has no UPN: no pass goes to it.
    if (!id || !str('userPrincipalName')) return { kind: 'error', cause: 'the manager is not a user account' };
    const manager: ObservedManager = {
      id, userPrincipalName: str('userPrincipalName')!, displayName: str('displayName') ?? str('userPrincipalName')!, mail: str('mail'),
      accountEnabled: typeof m.accountEnabled === 'boolean' ? m.accountEnabled : null,
    };
    return { kind: 'manager', manager };
  } catch (e) {
    if (e instanceof GraphError && e.status === 404) return { kind: 'none' };
    return { kind: 'error', cause: describe(e, 'GET', path) };
  }
}

function describe(e: unknown, method: string, path: string): string {
  if (e instanceof GraphError) {
    const grant = e.status === 403 ? missingPermissionHint(method, path) : undefined;
    return `${e.status} ${e.code}${grant ? `; ${grant}` : ''}`;
  }
  return e instanceof Error ? e.message : String(e);
}
