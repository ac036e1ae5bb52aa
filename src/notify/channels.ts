// Notification channels: each turns a rendered notification into one Graph request, so the
// applier can send them in $batch requests of 20.
import type { NotificationChannel } from '../campaign/types';
import type { BatchRequest } from '../graph/client';
import type { RenderedNotification } from './templates';

export interface ChannelConfig {
  channel: NotificationChannel;
  /** Mailbox (UPN or id) that sends email notifications. */
  sender?: string;
  /** Several sender mailboxes sharing the load (each has its own sending limits); when set, `sender` is unused. */
  senders?: string[];
  /** Teams app (manifest id) that declares the `passkeyCampaign` activity type. */
  teamsAppId?: string;
}

export interface Recipient {
  userId: string;
  userPrincipalName: string;
  /** The user's mailbox address (Graph `mail`); null when the user has none. Email goes here only. */
  mail: string | null;
}

/** The activity type the campaign's Teams app declares in its manifest (teams-app/manifest.template.json). */
export const TEAMS_ACTIVITY_TYPE = 'passkeyCampaign';
/** The static tab the notification's webUrl opens: https://teams.microsoft.com/l/entity/<app id>/<entity id>. */
export const TEAMS_ENTITY_ID = 'passkeys';

/**
 * The named MAPI property that carries a notification's key on the mail (String, in our own property
 * set GUID). Graph can filter messages on it; internet headers cannot be filtered.
 */
export const CAMPAIGN_KEY_PROPERTY = 'String {6f1c5a8e-3b1d-4c59-9d7e-2a1f0b7c4e21} Name PasskeyCampaignKey';

/** OData string literal: single quotes doubled. */
function odataString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * The read that answers "was the mail with this key sent?": the sender's Sent Items filtered on the
 * key property (Graph: singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…')).
 */
export function sentMailLookupRequest(sender: string, key: string, id: string): BatchRequest {
  const filter = `singleValueExtendedProperties/Any(ep: ep/id eq ${odataString(CAMPAIGN_KEY_PROPERTY)} and ep/value eq ${odataString(key)})`;
  return {
    id,
    method: 'GET',
    url: `/users/${encodeURIComponent(sender)}/mailFolders/sentitems/messages?$filter=${encodeURIComponent(filter)}&$select=id,sentDateTime&$top=1`,
  };
}

/**
 * The Graph request that delivers one notification; null for the `none` channel, and for email to a user
 * without a mailbox: a UPN is not a mailbox address (an admin account's often has none, and the mail would be
 * accepted with 202 and bounce later), so email never falls back to it.
 */
export function notificationRequest(cfg: ChannelConfig, to: Recipient, n: RenderedNotification, key: string, id: string): BatchRequest | null {
  switch (cfg.channel) {
    case 'none':
      return null;
    case 'teams':
      return {
        id,
        method: 'POST',
        url: `/users/${encodeURIComponent(to.userId)}/teamwork/sendActivityNotification`,
        body: {
          topic: {
            source: 'text',
            value: n.title,
            // The docs require a Teams-domain webUrl for a text topic; it deep-links to the app's personal tab.
            webUrl: `https://teams.microsoft.com/l/entity/${encodeURIComponent(cfg.teamsAppId ?? 'passkey-campaigns')}/${TEAMS_ENTITY_ID}`,
          },
          activityType: TEAMS_ACTIVITY_TYPE,
          previewText: { content: n.title },
          templateParameters: [
            { name: 'message', value: n.text },
            { name: 'notificationKey', value: key },
          ],
        },
      };
    case 'email':
      if (!to.mail) return null;
      // user-sendmail.md: 202 Accepted only means accepted; delivery to the mailbox happens later.
      return {
        id,
        method: 'POST',
        url: `/users/${encodeURIComponent(cfg.sender ?? '')}/sendMail`,
        body: {
          message: {
            subject: n.title,
            body: { contentType: 'HTML', content: n.html },
            toRecipients: [{ emailAddress: { address: to.mail } }],
            // Lets a mailbox search find every notice of a campaign and spot a duplicate key.
            internetMessageHeaders: [{ name: 'X-Passkey-Campaign-Key', value: key }],
            // Makes the sent copy findable by key ($filter on Sent Items), so a run that crashed
            // mid-send can tell "sent" from "not sent" instead of guessing (src/reconcile/intents.ts).
            singleValueExtendedProperties: [{ id: CAMPAIGN_KEY_PROPERTY, value: key }],
          },
          saveToSentItems: true,
        },
      };
  }
}
