// Globally unique names (storage accounts, *.azurewebsites.net) differ between adopters with the same prefix and
// stack name, and stay the same for one subscription and stack on every `up`.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appSettings, campaignsCopy, runProgram, type ProgramRun } from './harness';

const SUB_A = '0a0a0a0a-1111-4222-8333-444444444444';
const SUB_B = '0b0b0b0b-5555-4666-8777-888888888888';
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

interface Names { ledger: string; host: string; app: string; postponeUrl: string }
const namesOf = (run: ProgramRun): Names => ({
  ledger: run.one('azure-native:storage:StorageAccount', 'scheduler-ledger').inputs.accountName,
  host: run.one('azure-native:storage:StorageAccount', 'scheduler-host').inputs.accountName,
  app: run.one('azure-native:web:WebApp', 'scheduler-app').inputs.name,
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
    expect(b.postponeUrl).not.toBe(a1.postponeUrl);
  });

  it('keep Azure\'s rules: storage accounts 3–24 lower-case letters and digits, one app host name in the postponement URL', () => {
    for (const n of [a1, b]) {
      expect(n.ledger).toMatch(/^passkeysled[0-9a-f]{6}$/);
      expect(n.host).toMatch(/^passkeysfn[0-9a-f]{6}$/);
      expect(n.app).toMatch(/^passkeys-test-scheduler-[0-9a-f]{6}$/);
      expect(n.app.length).toBeLessThanOrEqual(60);
      expect(n.postponeUrl).toBe(`https://${n.app}.azurewebsites.net/api/postpone`);
    }
  });

  it('fit a long prefix into a storage account name', async () => {
    const dir = campaignsCopy();
    dirs.push(dir);
    const n = namesOf(await runProgram({ campaignsDir: dir, namePrefix: 'contosoidentity1' }, { subscriptionId: SUB_A }));
    for (const account of [n.ledger, n.host]) expect(account).toMatch(/^[a-z0-9]{3,24}$/);
  });
});
