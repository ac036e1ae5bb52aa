// The Pulumi program under mocks grants UserAuthenticationMethod.ReadWrite.All (it creates Temporary Access
// Passes) only when a deployed campaign issues onboarding passes itself: onboarding enabled with deliverTo manager.
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { graphRoleName } from '../../src/stack/graph-roles';
import { campaignsCopy, inProgress, runProgram } from './harness';

const ASSIGNMENT = 'azuread:index/appRoleAssignment:AppRoleAssignment';
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

/** Only admins-passkeys (Teams channel) is deployed, with the given onboarding section. */
function adminsWith(onboarding: Record<string, unknown> | null): string {
  const dir = campaignsCopy((name, text) => {
    if (name !== 'admins-passkeys') return null;
    const doc = parseDocument(inProgress(text));
    if (onboarding) doc.setIn(['spec', 'onboarding', 'temporaryAccessPass'], onboarding);
    return doc.toString();
  });
  dirs.push(dir);
  return dir;
}

async function grantedRoles(onboarding: Record<string, unknown> | null, config: Record<string, string> = {}): Promise<string[]> {
  const run = await runProgram({ campaignsDir: adminsWith(onboarding), ...config });
  const roles = run.ofType(ASSIGNMENT).map((a) => graphRoleName(String(a.inputs.appRoleId)) ?? String(a.inputs.appRoleId)).sort();
  expect(run.outputs.graphAppRoles).toEqual(expect.arrayContaining(roles));
  return roles;
}

describe('the Graph role that creates Temporary Access Passes', () => {
  it('is granted, with Mail.Send for the mail to the manager, to a Teams campaign that delivers passes to managers', async () => {
    const roles = await grantedRoles({ enabled: true, deliverTo: 'manager' });
    expect(roles).toContain('UserAuthenticationMethod.ReadWrite.All');
    // The Teams campaign sends no other mail; the pass still goes to the manager by mail.
    expect(roles).toContain('Mail.Send');
    expect(roles).not.toContain('Mail.Read');
  });

  it.each([
    ['onboarding is not configured', null],
    ['onboarding delivers to the helpdesk', { enabled: true, deliverTo: 'helpdesk' }],
    ['manager delivery is configured but disabled', { enabled: false, deliverTo: 'manager' }],
  ])('is not granted when %s (and the Teams campaign gets no Mail.Send)', async (_name, onboarding) => {
    const roles = await grantedRoles(onboarding);
    expect(roles).not.toContain('UserAuthenticationMethod.ReadWrite.All');
    expect(roles).not.toContain('Mail.Send');
    expect(roles).toContain('UserAuthenticationMethod.Read.All');
  });

  it('fails the program when no sender mailbox is configured for the mail to the manager', async () => {
    await expect(runProgram({ campaignsDir: adminsWith({ enabled: true, deliverTo: 'manager' }), notificationSender: '' })).rejects.toThrow(
      /mails onboarding passes to managers \(spec\.onboarding\.temporaryAccessPass\.deliverTo: manager\) but names no spec\.notifications\.sender/,
    );
  });
});
