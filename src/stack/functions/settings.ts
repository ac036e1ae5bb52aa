// App setting names shared by the CampaignScheduler (which sets them) and the Functions entry points
// (which read them). The CAMPAIGN_* names match the CLI's environment variables.

import type { SchedulerSettings } from '../../reconcile/scheduler-contract';
export type { SchedulerSettings } from '../../reconcile/scheduler-contract';

export const APP_SETTINGS = {
  /** NCRONTAB of the timer trigger; function.json-free bindings read it as %RECONCILE_SCHEDULE%. */
  schedule: 'RECONCILE_SCHEDULE',
  /** Comma-separated names of the in-progress campaigns the timer reconciles. */
  campaigns: 'CAMPAIGN_NAMES',
  /** Directory of campaign files inside the deployed package. */
  campaignsDir: 'CAMPAIGNS_DIR',
  /** Ledger location: azblob://<account>/<container> (the CLI's --state / CAMPAIGN_STATE). */
  state: 'CAMPAIGN_STATE',
  /** Microsoft Graph base URL (the CLI's --graph-url / CAMPAIGN_GRAPH_URL). */
  graphUrl: 'CAMPAIGN_GRAPH_URL',
  /** Default sender mailbox of email notifications. */
  sender: 'CAMPAIGN_NOTIFICATION_SENDER',
  /** Teams app id for activity feed notifications. */
  teamsAppId: 'CAMPAIGN_TEAMS_APP_ID',
  /** HMAC key of postponement links (secret). */
  postponeKey: 'CAMPAIGN_POSTPONE_KEY',
  /** Public URL of the postponement endpoint, used to build the links in notifications. */
  postponeUrl: 'CAMPAIGN_POSTPONE_URL',
  /** Client id of the user-assigned identity, so DefaultAzureCredential picks it. */
  clientId: 'AZURE_CLIENT_ID',
} as const;


/** Reads the settings from the Function App's environment; names the missing setting. */
export function readSettings(env: NodeJS.ProcessEnv): SchedulerSettings {
  const need = (name: string): string => {
    const v = env[name];
    if (!v) throw new Error(`app setting ${name} is missing; it is set by the Pulumi stack (CampaignScheduler). Run pulumi up.`);
    return v;
  };
  return {
    campaigns: (env[APP_SETTINGS.campaigns] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    campaignsDir: env[APP_SETTINGS.campaignsDir] || 'campaigns',
    state: need(APP_SETTINGS.state),
    graphUrl: env[APP_SETTINGS.graphUrl] || 'https://graph.microsoft.com',
    sender: env[APP_SETTINGS.sender] || undefined,
    teamsAppId: env[APP_SETTINGS.teamsAppId] || undefined,
    postponeKey: need(APP_SETTINGS.postponeKey),
    postponeUrl: env[APP_SETTINGS.postponeUrl] || undefined,
  };
}

/** azblob://<account>/<container>: the ledger location the blob store understands. */
export function ledgerUrl(account: string, container: string): string {
  return `azblob://${account}/${container}`;
}
