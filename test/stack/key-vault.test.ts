// The postponement keys reach the Function App as Key Vault references: an RBAC-only vault with soft delete and
// purge protection holds them, the app's identity may read its secrets (and nothing else there), the app resolves
// references with that user-assigned identity, and no app setting holds a key.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURE_ROLES } from '../../src/contracts/names';
import { APP_SETTINGS, SECRET_APP_SETTINGS, isKeyVaultReference } from '../../src/contracts/scheduler';
import { POSTPONE_KEY, SUBSCRIPTION_ID, appSettings, campaignsCopy, inProgress, isSecret, reveal, runProgram, type ProgramRun } from './harness';

const VAULT = 'azure-native:keyvault:Vault';
const SECRET = 'azure-native:keyvault:Secret';
const ROLE = 'azure-native:authorization:RoleAssignment';
const PREVIOUS_KEY = 'p'.repeat(48);
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

async function run(config: Record<string, string> = {}): Promise<ProgramRun> {
  const dir = campaignsCopy((_n, t) => inProgress(t));
  dirs.push(dir);
  return runProgram({ campaignsDir: dir, ...config });
}

describe('the postponement keys in Key Vault', () => {
  let r: ProgramRun;
  beforeAll(async () => { r = await run({ postponeKeyPrevious: PREVIOUS_KEY }); });

  it('keeps them in a vault that authorizes with Azure RBAC only, with soft delete and purge protection', () => {
    const vault = r.one(VAULT, 'scheduler-vault');
    expect(vault.inputs.properties).toMatchObject({
      tenantId: 'tenant',
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: true,
      softDeleteRetentionInDays: 90,
      sku: { family: 'A', name: 'standard' },
    });
    expect(vault.inputs.properties.accessPolicies ?? []).toEqual([]);
    expect(vault.inputs.resourceGroupName).toBe('passkeys-test-rg');
  });

  it('stores each key as a secret of that vault, marked secret in the state', () => {
    const secrets = r.ofType(SECRET);
    expect(secrets.map((s) => s.inputs.secretName).sort()).toEqual(['postpone-key', 'postpone-key-previous']);
    const value = (name: string) => reveal(reveal(r.one(SECRET, name).inputs.properties).value);
    for (const s of secrets) {
      expect(s.inputs.vaultName).toBe(r.one(VAULT).inputs.vaultName);
      // On the wire the secret value makes the whole properties object a secret.
      expect(isSecret(s.inputs.properties) || isSecret(s.inputs.properties.value)).toBe(true);
    }
    expect(value('scheduler-postpone-key')).toBe(POSTPONE_KEY);
    expect(value('scheduler-postpone-key-previous')).toBe(PREVIOUS_KEY);
  });

  it('sets the secret app settings as Key Vault references to the secrets\' current versions, never the keys', () => {
    const settings = appSettings(r);
    const uri = (name: string) => r.one(SECRET, name).state.properties.secretUriWithVersion as string;
    expect(settings[APP_SETTINGS.postponeKey]).toBe(`@Microsoft.KeyVault(SecretUri=${uri('scheduler-postpone-key')})`);
    expect(settings[APP_SETTINGS.postponeKeyPrevious]).toBe(`@Microsoft.KeyVault(SecretUri=${uri('scheduler-postpone-key-previous')})`);
    for (const name of SECRET_APP_SETTINGS) expect(isKeyVaultReference(settings[name]!), name).toBe(true);
    expect(Object.values(settings)).not.toContain(POSTPONE_KEY);
    expect(Object.values(settings)).not.toContain(PREVIOUS_KEY);
    // A reference is no secret: previews show it, so reviewers see which secret the app reads.
    expect(isSecret(r.one('azure-native:web:WebAppApplicationSettings').inputs.properties[APP_SETTINGS.postponeKey])).toBe(false);
  });

  it('lets the app\'s identity read the vault\'s secrets with Key Vault Secrets User on the vault, and nothing more', () => {
    const vault = r.one(VAULT, 'scheduler-vault');
    expect(vault.id).toBe(`/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/passkeys-test-rg/providers/Microsoft.KeyVault/vaults/${vault.inputs.vaultName}`);
    const onVault = r.ofType(ROLE).filter((a) => String(a.inputs.scope).includes('Microsoft.KeyVault'));
    expect(onVault).toHaveLength(1);
    expect(onVault[0]!.inputs).toMatchObject({
      principalId: r.one('azure-native:managedidentity:UserAssignedIdentity').state.principalId,
      principalType: 'ServicePrincipal',
      scope: vault.id,
      roleDefinitionId: `/subscriptions/${SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/${AZURE_ROLES.keyVaultSecretsUser}`,
    });
    expect(AZURE_ROLES.keyVaultSecretsUser).toBe('4633458b-17de-408a-b874-0445c86b69e6');
  });

  it('resolves references with the user-assigned identity and starts only after that identity may read them', () => {
    const app = r.one('azure-native:web:WebApp', 'scheduler-app');
    expect(app.inputs.keyVaultReferenceIdentity).toBe(`/subscriptions/${SUBSCRIPTION_ID}/fake/UserAssignedIdentity/scheduler-identity`);
    expect(app.inputs.identity.userAssignedIdentities).toEqual([app.inputs.keyVaultReferenceIdentity]);
    expect(app.dependsOn).toContain('scheduler-vault-role');
    expect(app.inputs.siteConfig).toBeUndefined();
  });

  it('exports the vault name', () => {
    expect(r.outputs.keyVaultName).toBe(r.one(VAULT).inputs.vaultName);
  });
});

describe('without a previous key', () => {
  it('sets no previous-key setting but keeps the previous-key secret, holding the current key, so the next rotation can reuse its name', async () => {
    const r = await run();
    expect(appSettings(r)).not.toHaveProperty(APP_SETTINGS.postponeKeyPrevious);
    // Deleting the secret would soft-delete its name for 90 days (purge protection): the next rotation's up would fail.
    expect(r.ofType(SECRET).map((s) => s.inputs.secretName).sort()).toEqual(['postpone-key', 'postpone-key-previous']);
    const value = (name: string) => reveal(reveal(r.one(SECRET, name).inputs.properties).value);
    expect(value('scheduler-postpone-key-previous')).toBe(POSTPONE_KEY);
  });
});
