// The Function App waits for the storage and Key Vault role assignments its identity needs at first start: no input of the
// app references them, so only an explicit dependsOn orders them (under mocks, read from the register request).
import { beforeAll, describe, expect, it } from 'vitest';
import { campaignsCopy, runProgram, type ProgramRun } from './harness';

describe('the Function App at first start', () => {
  let run: ProgramRun;
  beforeAll(async () => {
    // The fixture campaigns, not campaigns/: what a team keeps there must not change this test.
    run = await runProgram({ campaignsDir: campaignsCopy() });
  });

  it('depends on the host storage, ledger and vault role assignments', () => {
    const roles = run.ofType('azure-native:authorization:RoleAssignment').map((r) => r.name).sort();
    expect(roles).toEqual(['scheduler-host-role', 'scheduler-ledger-role', 'scheduler-vault-role']);
    const app = run.one('azure-native:web:WebApp');
    expect(app.dependsOn).toEqual(expect.arrayContaining(roles));
  });

  it('records dependencies through inputs too (the harness sees the whole request)', () => {
    expect(run.one('azure-native:web:WebApp').dependsOn).toEqual(expect.arrayContaining(['scheduler-plan', 'scheduler-identity']));
  });
});
