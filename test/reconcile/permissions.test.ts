// The job's reads under the permissions the Pulumi program grants (the emulator's `application` fixture key):
// the run completes with them, and without any one of its read permissions it stops (exit 2, nothing written)
// naming the permission to grant.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { loadCampaignFile } from '../../src/campaign/load';
import { generateTenant } from '../../src/sim/generate';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { requiredGraphRoles } from '../../src/stack/graph-roles';
import { captureIo } from '../helpers/io';
import { START } from './harness';

const ROOT = path.resolve(__dirname, '..', '..');
let emulator: Emulator | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

const campaign = () => {
  const c = loadCampaignFile(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml')).campaign!;
  c.spec.status = 'inProgress';
  return c;
};
// The enforcement-group write relies on GroupMember.ReadWrite.All here: ownership is not a documented grant.
const GRANTED = requiredGraphRoles([campaign()], { groupMemberWrite: true });

async function setup(appRoles: readonly string[]) {
  const fixture = generateTenant({ users: 60, admins: 20, seed: 5, now: START.toISOString() });
  fixture.application = { appId: '00000000-0000-4000-8000-00000000a99a', appRoles: [...appRoles] };
  emulator = await startEmulator({ tenant: fixture, port: 0, token: 'sim-token' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'permissions-'));
  const file = path.join(tmp, 'admins-passkeys.yaml');
  fs.writeFileSync(file, fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8').replace('status: notStarted', 'status: inProgress'));
  return { file, state: path.join(tmp, 'state') };
}

async function reconcile(appRoles: readonly string[]) {
  const { file, state } = await setup(appRoles);
  const io = captureIo();
  const code = await run(['reconcile', '--campaign', file, '--graph-url', emulator!.url, '--state', state, '--now', START.toISOString()], io);
  return { code, err: io.err(), ledgerWritten: fs.existsSync(path.join(state, 'admins-passkeys', 'ledger.jsonl')) };
}

describe('reconcile with exactly the granted application permissions', () => {
  it('completes with the set the Pulumi program grants', async () => {
    const r = await reconcile(GRANTED);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(emulator!.state.requests().byRoute).not.toHaveProperty('GET /v1.0/{absolute-url}');
  });

  // rbacapplication-list-roleeligibilityscheduleinstances.md accepts RoleManagement.Read.Directory too, which role
  // targeting needs anyway: RoleEligibilitySchedule.Read.Directory adds nothing next to it.
  it('reads PIM-eligible holders with RoleManagement.Read.Directory: RoleEligibilitySchedule.Read.Directory is not granted', async () => {
    expect(campaign().spec.targets.includeEligible).toBe(true);
    expect(GRANTED).toContain('RoleManagement.Read.Directory');
    expect(GRANTED).not.toContain('RoleEligibilitySchedule.Read.Directory');
    const r = await reconcile(GRANTED);
    expect(r.code).toBe(0);
    expect(emulator!.state.requests().byRoute).toHaveProperty(['GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances']);
  });

  // Every read permission the run needs (the FIDO2 methods read happens only under AAGUID restrictions).
  it.each(GRANTED.filter((p) => !p.includes('Write') && !['UserAuthenticationMethod.Read.All', 'Mail.Send', 'TeamsActivity.Send', 'RoleEligibilitySchedule.Read.Directory'].includes(p)))(
    'stops with exit 2 naming %s when it is missing, and writes nothing',
    async (missing) => {
      // GroupMember.ReadWrite.All also grants the group reads; without it the read permission alone is missing.
      const roles = GRANTED.filter((p) => p !== missing && !(missing === 'GroupMember.Read.All' && p === 'GroupMember.ReadWrite.All'));
      const r = await reconcile(roles);
      expect(r.code).toBe(2);
      expect(r.err).toContain(missing);
      expect(r.err).toMatch(/grant the Microsoft Graph application permission/);
      expect(r.ledgerWritten).toBe(false);
      expect(emulator!.state.requests().writes).toBe(0);
    },
  );
});
