// The Functions app's settings, read from the app settings the CampaignScheduler sets (names in
// src/contracts/scheduler). The CAMPAIGN_* names match the CLI's environment variables.
import { APP_SETTINGS, KEY_VAULT_REFERENCE_PREFIX, type SchedulerSettings } from '../../contracts/scheduler';
export type { SchedulerSettings } from '../../contracts/scheduler';

/**
 * An app setting still holds its Key Vault reference: App Service passes a reference it could not resolve
 * through as the literal `@Microsoft.KeyVault(…)` text, which must never be used as a key.
 */
export class UnresolvedKeyVaultReferenceError extends Error {
  constructor(readonly setting: string) {
    super(`app setting ${setting} is an unresolved Key Vault reference: App Service could not read the secret. Check that the app's keyVaultReferenceIdentity is the scheduler identity, that the identity has Key Vault Secrets User on the stack's vault and that the secret exists (the reference's status is shown with the app settings in the Azure portal); pulumi up sets all three.`);
    this.name = 'UnresolvedKeyVaultReferenceError';
  }
}

/** Reads the settings from the Function App's environment; names the missing or unresolved setting. */
export function readSettings(env: NodeJS.ProcessEnv): SchedulerSettings {
  const get = (name: string): string | undefined => {
    const v = env[name];
    if (v?.trimStart().startsWith(KEY_VAULT_REFERENCE_PREFIX)) throw new UnresolvedKeyVaultReferenceError(name);
    return v || undefined;
  };
  const need = (name: string): string => {
    const v = get(name);
    if (!v) throw new Error(`app setting ${name} is missing; it is set by the Pulumi stack (CampaignScheduler). Run pulumi up.`);
    return v;
  };
  return {
    campaigns: (get(APP_SETTINGS.campaigns) ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    campaignsDir: get(APP_SETTINGS.campaignsDir) || 'campaigns',
    state: need(APP_SETTINGS.state),
    graphUrl: get(APP_SETTINGS.graphUrl) || 'https://graph.microsoft.com',
    sender: get(APP_SETTINGS.sender),
    teamsAppId: get(APP_SETTINGS.teamsAppId),
    postponeKey: need(APP_SETTINGS.postponeKey),
    postponeKeyPrevious: get(APP_SETTINGS.postponeKeyPrevious),
    postponeUrl: get(APP_SETTINGS.postponeUrl),
  };
}
