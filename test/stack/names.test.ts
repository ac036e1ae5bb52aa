// Globally unique names (storage accounts, *.azurewebsites.net, *.vault.azure.net) differ between adopters with the same prefix and
// stack name, and stay the same for one subscription and stack on every `up`.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyVaultName } from '../../src/stack/campaign-scheduler';
import { NAME_PREFIX } from '../../src/stack/settings';
import { appSettings, campaignsCopy, runProgram, type ProgramRun } from './harness';

const SUB_A = '0a0a0a0a-1111-4222-8333-444444444444';
const SUB_B = '0b0b0b0b-5555-4666-8777-888888888888';
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

interface Names { ledger: string; host: string; app: string; vault: string; postponeUrl: string }
const namesOf = (run: ProgramRun): Names => ({
  ledger: run.one('azure-native:storage:StorageAccount', 'scheduler-ledger').inputs.accountName,
  host: run.one('azure-native:storage:StorageAccount', 'scheduler-host').inputs.accountName,
  app: run.one('azure-native:web:WebApp', 'scheduler-app').inputs.name,
  vault: run.one('azure-native:keyvault:Vault', 'scheduler-vault').inputs.vaultName,
  postponeUrl: appSettings(run).CAMPAIGN_POSTPONE_URL,
});

describe('globally unique names', () => {
  let a1: Names, a2: Names, b: Names;
  beforeAll(async () => {
    const dir = campaignsCopy();
    dirs.push(dir);
    // Two adopters, both with the default prefix and a stack of the same name.
    a1 = namesOf(await runProgram({ campaignsDir: dir }, { subscriptionId: SUB_A }));
    b = namesOf(await runProgram({ campaignsDir: dir }, { subscriptionId: SUB_B }));
    a2 = namesOf(await runProgram({ campaignsDir: dir }, { subscriptionId: SUB_A }));
  });

  it('are the same on every run in one subscription', () => {
    expect(a2).toEqual(a1);
  });

  it('differ between two subscriptions with the same prefix and stack', () => {
    expect(b.ledger).not.toBe(a1.ledger);
    expect(b.host).not.toBe(a1.host);
    expect(b.app).not.toBe(a1.app);
    expect(b.vault).not.toBe(a1.vault);
    expect(b.postponeUrl).not.toBe(a1.postponeUrl);
  });

  it('keep Azure\'s rules: storage accounts 3–24 lower-case letters and digits, vaults 3–24 letters, digits and dashes, one app host name in the postponement URL', () => {
    for (const n of [a1, b]) {
      expect(n.ledger).toMatch(/^passkeysled[0-9a-f]{6}$/);
      expect(n.host).toMatch(/^passkeysfn[0-9a-f]{6}$/);
      expect(n.app).toMatch(/^passkeys-test-scheduler-[0-9a-f]{6}$/);
      expect(n.app.length).toBeLessThanOrEqual(60);
      expect(n.vault).toMatch(/^passkeys-kv-[0-9a-f]{6}$/);
      // The vault's suffix is the storage accounts' suffix.
      expect(n.vault.slice(-6)).toBe(n.ledger.slice(-6));
      expect(n.postponeUrl).toBe(`https://${n.app}.azurewebsites.net/api/postpone`);
    }
  });

  it('fit a long prefix into a storage account and a vault name', async () => {
    const dir = campaignsCopy();
    dirs.push(dir);
    const n = namesOf(await runProgram({ campaignsDir: dir, namePrefix: 'contosoidentity1' }, { subscriptionId: SUB_A }));
    for (const account of [n.ledger, n.host]) expect(account).toMatch(/^[a-z0-9]{3,24}$/);
    expect(n.vault).toMatch(VAULT_NAME);
    expect(n.vault.length).toBeLessThanOrEqual(24);
  });
});

// https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftkeyvault
const VAULT_NAME = /^(?=.{3,24}$)[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$/i;

describe('keyVaultName', () => {
  it.each([
    ['passkeys', 'passkeys-kv-2ce5e2'],
    ['contosoidentity1', 'contosoidentit-kv-2ce5e2'],
    ['a-b--c', 'a-b-c-kv-2ce5e2'],
    // Cut to 14 characters it would end in a dash, which would make a double dash.
    ['contoso-ident-xy', 'contoso-ident-kv-2ce5e2'],
  ])('%s → %s (at most 24 letters, digits and single dashes)', (prefix, name) => {
    expect(keyVaultName(prefix, '2ce5e2')).toBe(name);
    expect(name).toMatch(VAULT_NAME);
  });

  it('keeps every valid namePrefix valid', () => {
    for (const prefix of ['abc', 'a1-2', 'abcdefghijklmnop', 'abcdefghijklm-op', 'ab-------------c']) {
      expect(prefix).toMatch(NAME_PREFIX);
      expect(keyVaultName(prefix, 'ffffff')).toMatch(VAULT_NAME);
    }
  });
});
