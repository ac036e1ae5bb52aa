// Why a run stopped sending notifications: a fault of the campaign or of the identity, never of one
// recipient (a recipient's 403/404 is that recipient's failed outcome; see sendNotifications).
import { RuntimeError } from '../errors';

export type NotificationStopReason = 'SenderNotSet' | 'SenderMailboxMissing' | 'PermissionMissing' | 'TeamsAppMissing';

/** The Graph permission each channel's send needs (application permissions). */
export const SEND_PERMISSION = { teams: 'TeamsActivity.Send', email: 'Mail.Send' } as const;

export interface NotificationStop {
  reason: NotificationStopReason;
  channel: 'teams' | 'email';
  /** The status and Graph error code every request of the kind answered (0 and '' when none was sent). */
  status: number;
  code: string;
  /** How many requests of the kind this run sent, all answered that way. */
  count: number;
  /** The sender mailbox (email). */
  sender?: string;
  /** The permission that is missing, when not the channel's send permission (installing the Teams app). */
  permission?: string;
  /** The campaign's Teams app (catalog id). */
  teamsAppId?: string;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The message and the fix of each stop reason. */
const SAY: Record<NotificationStopReason, (s: NotificationStop) => { message: string; hint: string }> = {
  SenderNotSet: (s) => ({
    message: `email notifications cannot be sent: no sender mailbox is set, so none of the ${plural(s.count, 'notification')} of this run went out.`,
    hint: 'Set spec.notifications.sender to an existing Exchange Online mailbox (or pass --sender, or set CAMPAIGN_NOTIFICATION_SENDER), then run again; the notices are sent by the next run.',
  }),
  SenderMailboxMissing: (s) => ({
    message: `email notifications cannot be sent: the sender ${s.sender} has no mailbox (sendMail answered ${s.status} ${s.code} for all ${plural(s.count, 'notification')} of this run), so nobody was notified.`,
    hint: 'Set spec.notifications.sender (or --sender) to an existing Exchange Online mailbox, such as a shared mailbox, then run again; the notices are sent by the next run.',
  }),
  PermissionMissing: (s) => s.permission ? {
    message: `Teams notifications cannot be sent: installing the campaign's Teams app was refused for all ${plural(s.count, 'recipient')} of this run with ${s.status} ${s.code}, which is the identity's permission ${s.permission}, not one recipient's.`,
    hint: `Grant the identity the Microsoft Graph application permission ${s.permission} (with admin consent), and make sure the Teams app's manifest names the identity's client id in webApplicationInfo (campaign teams-app --client-id), then run again.`,
  } : {
    message: `${s.channel === 'teams' ? 'Teams notifications' : 'email notifications'} cannot be sent: Graph refused all ${plural(s.count, 'notification')} of this run with ${s.status} ${s.code}, which is the identity's permission ${SEND_PERMISSION[s.channel]}, not one recipient's.`,
    hint: s.channel === 'teams'
      ? `Grant the identity the Microsoft Graph application permission ${SEND_PERMISSION.teams} (with admin consent) and install the campaign's Teams app (CAMPAIGN_TEAMS_APP_ID) for the targeted users, then run again.`
      : `Grant the identity the Microsoft Graph application permission ${SEND_PERMISSION.email} (with admin consent) and make sure no application access policy excludes the mailbox ${s.sender}, then run again.`,
  },
  TeamsAppMissing: (s) => ({
    message: `Teams notifications cannot be sent: installing the Teams app ${s.teamsAppId} answered ${s.status} ${s.code} for all ${plural(s.count, 'recipient')} of this run, so the app is not in the organization's app catalog.`,
    hint: 'Upload the campaign\'s Teams app (campaign teams-app --client-id ID) to the org catalog and set CAMPAIGN_TEAMS_APP_ID (passkey-campaigns:teamsAppId) to its catalog id, then run again.',
  }),
};

/** The run stops (exit 2): nothing more is sent, the notices not delivered are sent by a later run. */
export class NotificationsStoppedError extends RuntimeError {
  override readonly name = 'NotificationsStoppedError';
  readonly reason: NotificationStopReason;
  readonly channel: 'teams' | 'email';
  readonly status: number;
  readonly code: string;
  readonly count: number;
  readonly sender?: string;
  readonly permission?: string;
  constructor(readonly stop: NotificationStop) {
    const { message, hint } = SAY[stop.reason](stop);
    super(message, false, hint);
    this.reason = stop.reason;
    this.channel = stop.channel;
    this.status = stop.status;
    this.code = stop.code;
    this.count = stop.count;
    this.sender = stop.sender;
    this.permission = stop.permission ?? (stop.reason === 'PermissionMissing' ? SEND_PERMISSION[stop.channel] : undefined);
  }
}

/**
 * Every add to the enforcement group this run answered 403, and there were enough of them (or the write never worked
 * for this campaign) to rule out the users: the identity may not write the group's members (the
 * permission is missing, or the tenant does not honour the identity's ownership of the group), which is no single
 * user's fault. The run stops before any other move (exit 2): nobody is enforced, nothing is sent, the users stay
 * in the enforcement notice and are added by the first run after the permission is granted.
 */
export class GroupWriteForbiddenError extends RuntimeError {
  override readonly name = 'GroupWriteForbiddenError';
  /** The permission to grant (least privileged first); any one suffices. */
  readonly permission: string;
  constructor(
    readonly group: { id: string; displayName: string },
    /** Graph's error code of the first refusal. */
    readonly code: string,
    /** How many adds this run sent, all refused. */
    readonly count: number,
    /** The application permissions the add's docs page lists (src/graph/permissions.ts). */
    readonly permissions: readonly string[],
  ) {
    const [least = 'GroupMember.ReadWrite.All', ...higher] = permissions;
    super(`users cannot be added to the enforcement group ${group.displayName}: Graph refused all ${plural(count, 'add')} of this run with 403 ${code}, which is the identity's permission ${least}, not one user's; nobody was enforced and nothing was sent.`,
      false,
      `Grant the identity the Microsoft Graph application permission ${least}${higher.length ? ` (or one of ${higher.join(', ')})` : ''} with admin consent (the stack grants it with passkey-campaigns:groupMemberWrite true), since owning the group is not enough in this tenant, then run again; the users stay in the enforcement notice until they are added.`);
    this.permission = least;
  }
}
