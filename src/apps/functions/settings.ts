// The Functions app's settings, read from the app settings the CampaignScheduler sets (names in
// src/contracts/scheduler). The CAMPAIGN_* names match the CLI's environment variables.
import { APP_SETTINGS, type SchedulerSettings } from '../../contracts/scheduler';
export type { SchedulerSettings } from '../../contracts/scheduler';

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
    postponeKeyPrevious: env[APP_SETTINGS.postponeKeyPrevious] || undefined,
    postponeUrl: env[APP_SETTINGS.postponeUrl] || undefined,
  };
}
