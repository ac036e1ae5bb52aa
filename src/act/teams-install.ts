// Before a Teams notice: the campaign's Teams app installed for the recipient, the per-run budget applied.
//
// concepts/teams-send-activityfeednotifications.md: "The Teams app must be installed for the recipient". The job
// installs it itself (userteamwork-post-installedapps.md) with TeamsAppInstallation.ReadWriteSelfForUser.All, the
// least-privileged application permission the page lists, which lets the app install only itself: the Teams app
// whose manifest names the identity in webApplicationInfo. Installing is idempotent: 409 (already installed) is
// success. A user whose installation fails gets a failed notice, so decide() holds and retries them (Unreachable
// after three), and nobody is enforced without a delivered notice.
import type { BatchRequest, BatchResponse, Graph } from '../graph/client';
import { warning, type RunWarning } from '../engine/warnings';
import type { NotificationStop } from './errors';
import { Pacer, TEAMS_ACTIVITY_PER_SECOND, TEAMS_INSTALLED_APPS_PER_SECOND, TEAMS_RUN_BUDGET, teamsRunBudget } from './teams-pace';

/** The application permission that installs the campaign's Teams app for a user. */
export const TEAMS_INSTALL_PERMISSION = 'TeamsAppInstallation.ReadWriteSelfForUser.All';

/** What one notice needs here. */
export interface TeamsNotice {
  userId: string;
  userPrincipalName: string;
  key: string;
}

/** A notice not sent this run, and the outcome to record for it. */
export interface Held<N> {
  notice: N;
  outcome: 'failed' | 'notSent';
  status?: number;
  detail: string;
}

export interface TeamsPreparation<N> {
  /** Notices whose recipient has the app: send them. */
  ready: N[];
  /** Notices not sent this run: installation failed (failed) or carried over / refused (notSent). */
  held: Array<Held<N>>;
  /** The campaign or the identity is at fault: the run stops after recording `held`. */
  stop?: NotificationStop;
}

/** The install request for one user (userteamwork-post-installedapps.md). */
export function installRequest(graphBase: string, teamsAppId: string, userId: string, id: string): BatchRequest {
  return {
    id,
    method: 'POST',
    url: `/users/${encodeURIComponent(userId)}/teamwork/installedApps`,
    body: { 'teamsApp@odata.bind': `${graphBase}/v1.0/appCatalogs/teamsApps/${encodeURIComponent(teamsAppId)}` },
  };
}

function errorOf(r: BatchResponse | undefined): { code: string; message: string } {
  const e = (r?.body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return { code: typeof e?.code === 'string' ? e.code : 'Unknown', message: typeof e?.message === 'string' ? e.message : '' };
}

/**
 * Applies the run's Teams budget, then installs the campaign's Teams app for every remaining recipient in
 * $batch requests of 20, paced to the installedApps limit. `permissionSample`: the fewest answers, all 403 (or
 * all 404), before the identity's permission (or the catalog app) is blamed instead of the recipients.
 */
export async function prepareTeams<N extends TeamsNotice>(
  graph: Graph,
  teamsAppId: string | undefined,
  notices: readonly N[],
  warnings: RunWarning[],
  permissionSample: number,
  sendUntil?: number,
): Promise<TeamsPreparation<N>> {
  const held: Array<Held<N>> = [];
  const budget = teamsRunBudget(graph.now(), sendUntil);
  const kept = notices.slice(0, budget);
  const carried = notices.slice(budget);
  if (carried.length) {
    const why = `carried over to the next run: Teams allows ${TEAMS_ACTIVITY_PER_SECOND} activity notifications per second, and this run has room for ${budget}`;
    for (const n of carried) held.push({ notice: n, outcome: 'notSent', detail: why });
    warnings.push(warning('NotificationsCarriedOver', `${carried.length} of ${notices.length} Teams notifications are carried over to the next run: Teams allows ${TEAMS_ACTIVITY_PER_SECOND} activity notifications per second per app, ${budget === TEAMS_RUN_BUDGET ? `and one run sends at most ${TEAMS_RUN_BUDGET}` : `and this run's remaining sending time has room for ${budget}`}.`, `${carried.length} notifications`));
  }
  if (!teamsAppId) {
    if (kept.length) warnings.push(warning('TeamsAppNotSet', `no Teams app is configured (CAMPAIGN_TEAMS_APP_ID): the campaign's Teams app cannot be installed for the recipients and the notifications cannot link to it, so Graph may refuse them; the users are held until a notice is delivered.`));
    return { ready: kept, held };
  }
  const ready: N[] = [];
  const base = graph.baseUrl;
  const pacer = new Pacer(graph, TEAMS_INSTALLED_APPS_PER_SECOND);
  let answered = 0;
  let forbidden = 0;
  let missing = 0;
  let firstCode = '';
  const failed: Array<{ n: N; status: number; code: string; message: string }> = [];
  for (let i = 0; i < kept.length; i += 20) {
    const chunk = kept.slice(i, i + 20);
    await pacer.take(chunk.length);
    const responses = await graph.batch(chunk.map((n, j) => installRequest(base, teamsAppId, n.userId, String(j))));
    chunk.forEach((n, j) => {
      const r = responses.get(String(j));
      const status = r?.status ?? 0;
      // 409: already installed, which is what we want (installing is idempotent).
      if ((status >= 200 && status < 300) || status === 409) {
        answered++;
        ready.push(n);
        return;
      }
      const { code, message } = errorOf(r);
      if (status === 429 || status === 503 || status === 0) {
        held.push({ notice: n, outcome: 'notSent', status, detail: `installing the Teams app was refused (${status} ${code}); the next run tries again` });
        warnings.push(warning('NotificationRefused', `the Teams app could not be installed for ${n.userPrincipalName} (${status} ${code}), so notification ${n.key} was not sent; the next run sends it.`, n.userPrincipalName));
        return;
      }
      answered++;
      if (status === 403) forbidden++;
      if (status === 404) missing++;
      firstCode ||= code;
      failed.push({ n, status, code, message });
    });
  }
  const blame = answered >= permissionSample && failed.length === answered && (forbidden === answered || missing === answered);
  if (blame) {
    for (const f of failed) held.push({ notice: f.n, outcome: 'notSent', status: f.status, detail: `installing the Teams app: ${f.status} ${f.code}` });
    const stop: NotificationStop = forbidden === answered
      ? { reason: 'PermissionMissing', channel: 'teams', status: 403, code: firstCode, count: answered, permission: TEAMS_INSTALL_PERMISSION }
      : { reason: 'TeamsAppMissing', channel: 'teams', status: 404, code: firstCode, count: answered, teamsAppId };
    return { ready: [], held, stop };
  }
  for (const f of failed) {
    const detail = `the Teams app could not be installed for the user (${f.status} ${f.code}${f.message ? `: ${f.message}` : ''})`.slice(0, 240);
    held.push({ notice: f.n, outcome: 'failed', status: f.status, detail });
    warnings.push(warning('TeamsAppNotInstalled', `notification ${f.n.key} to ${f.n.userPrincipalName} was not sent: installing the campaign's Teams app failed (${f.status} ${f.code}); recorded as failed, the user is held and retried next run.`, `${f.n.userPrincipalName} (${f.status} ${f.code})`));
  }
  return { ready, held };
}
