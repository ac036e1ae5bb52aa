// passkey-campaigns:auditReaderPrincipalId: the daily audit's identity reads the ledger container, and nothing else.
import { describe, expect, it } from 'vitest';
import { schedulerAzureRolesAllowed } from '../../policies/guardrails';
import { checkPrincipalId } from '../../src/stack/settings';
import { campaignsCopy, runProgram, SUBSCRIPTION_ID } from './harness';

const ROLE_ASSIGNMENT = 'azure-native:authorization:RoleAssignment';
const AUDITOR = '3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f';
const READER = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1';

describe('the audit reader role', () => {
  it('is not created without auditReaderPrincipalId', async () => {
    const run = await runProgram({ campaignsDir: campaignsCopy() });
    expect(run.ofType(ROLE_ASSIGNMENT).map((r) => r.name).sort()).toEqual(['scheduler-host-role', 'scheduler-ledger-role', 'scheduler-vault-role']);
  });

  it('grants Storage Blob Data Reader to that principal on the ledger container only, and passes the guardrails', async () => {
    const run = await runProgram({ campaignsDir: campaignsCopy(), auditReaderPrincipalId: AUDITOR.toUpperCase() });
    const role = run.one(ROLE_ASSIGNMENT, 'scheduler-audit-reader-role');
    const ledger = run.one(ROLE_ASSIGNMENT, 'scheduler-ledger-role');
    expect(role.inputs).toEqual({
      principalId: AUDITOR,
      principalType: 'ServicePrincipal',
      roleDefinitionId: `/subscriptions/${SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
      scope: ledger.inputs.scope,
    });
    expect(role.inputs.scope).toBe(`${run.one('azure-native:storage:StorageAccount', 'scheduler-ledger').id}/blobServices/default/containers/ledger`);
    // Only the audit identity gets it; the scheduler's own ledger role is unchanged.
    expect(run.ofType(ROLE_ASSIGNMENT).filter((r) => r.inputs.principalId === AUDITOR)).toHaveLength(1);
    expect(ledger.inputs.roleDefinitionId).toMatch(/ba92f5b4-2d11-453d-a403-e96b0029c9fe$/);
    const reports: string[] = [];
    const validate = schedulerAzureRolesAllowed().validateResource as (args: unknown, report: (m: string) => void) => void;
    for (const r of run.ofType(ROLE_ASSIGNMENT)) validate({ type: r.type, name: r.name, props: r.inputs, urn: '', opts: {} }, (m) => reports.push(m));
    expect(reports).toEqual([]);
  });

  it('refuses a value that is not an object id, saying which id to use', () => {
    expect(() => checkPrincipalId('auditReaderPrincipalId', 'passkeys-audit')).toThrow(
      'passkey-campaigns:auditReaderPrincipalId: "passkeys-audit" is not an object id. Use the object id of the identity\'s service principal');
    expect(checkPrincipalId('auditReaderPrincipalId', undefined)).toBeUndefined();
    expect(checkPrincipalId('auditReaderPrincipalId', '')).toBeUndefined();
  });
});
