// Notification channels: each turns a rendered notification into one Graph request, so the
// applier can send them in $batch requests of 20.
import type { NotificationChannel } from '../campaign/types';
import type { BatchRequest } from '../graph/client';
import type { RenderedNotification } from './templates';

export interface ChannelConfig {
  channel: NotificationChannel;
  /** Mailbox (UPN or id) that sends email notifications. */
  sender?: string;
  /** Teams app (manifest id) that declares the `passkeyCampaign` activity type. */
  teamsAppId?: string;
}

export interface Recipient {
  userId: string;
  userPrincipalName: string;
}

/** The Graph request that delivers one notification, or null for the `none` channel. */
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
            webUrl: `https://teams.microsoft.com/l/entity/${encodeURIComponent(cfg.teamsAppId ?? 'passkey-campaigns')}/passkeys`,
          },
          activityType: 'passkeyCampaign',
          previewText: { content: n.title },
          templateParameters: [
            { name: 'message', value: n.text },
            { name: 'notificationKey', value: key },
          ],
        },
      };
    case 'email':
      return {
        id,
        method: 'POST',
        url: `/users/${encodeURIComponent(cfg.sender ?? '')}/sendMail`,
        body: {
          message: {
            subject: n.title,
            body: { contentType: 'HTML', content: n.html },
            toRecipients: [{ emailAddress: { address: to.userPrincipalName } }],
            // Lets a mailbox search find every notice of a campaign and spot a duplicate key.
            internetMessageHeaders: [{ name: 'X-Passkey-Campaign-Key', value: key }],
          },
          saveToSentItems: true,
        },
      };
  }
}
