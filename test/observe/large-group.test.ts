// A target group of 200,000 members, read and reconciled for real over 127.0.0.1: the group's pages
// (transitiveMembers, 999 a page) used to be joined with `members.push(...rest)`, which overflows the call stack
// past about 120,000 members. The tenant is built straight into the fixture (no HTTP, no throttling): a small
// generated tenant plus plain members of "All staff", each with a registration row and no device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCampaignFile } from '../../src/campaign/load';
import type { Campaign } from '../../src/campaign/types';
import type { RunResult } from '../../src/reconcile/result';
import type { FixtureRegistrationDetails, FixtureUser, TenantFixture } from '../../src/sim/fixture';
import { generateTenant, SIM_IDS } from '../../src/sim/generate';
import { harness, START, type Harness } from '../reconcile/harness';

const MEMBERS = 200_000;
/** Every tenth plain member has a passkey already, so the run sorts users into more than one stage. */
const PASSKEY_EVERY = 10;

/** A deterministic user id: `0a…` plus the member's number, never one the generator makes (its ids are random v4). */
const memberId = (i: number) => `0a000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function largeTenant(): TenantFixture {
  const fixture = generateTenant({ users: 300, admins: 20, seed: 17, now: START.toISOString() });
  const allStaff = fixture.groups!.find((g) => g.id === SIM_IDS.allStaffGroup)!;
  const members = allStaff.members!;
  const users = fixture.users!;
  const registration = fixture.userRegistrationDetails!;
  for (let i = 0; members.length < MEMBERS; i++) {
    if (i > MEMBERS) throw new Error('bound: the group did not fill up');
    const id = memberId(i);
    const upn = `member.${i}@contoso.com`;
    const user: FixtureUser = { id, userPrincipalName: upn, displayName: `Member ${i}`, mail: upn, accountEnabled: true };
    const row: FixtureRegistrationDetails = { id, userPrincipalName: upn, userDisplayName: `Member ${i}`, isAdmin: false, methodsRegistered: i % PASSKEY_EVERY === 0 ? ['microsoftAuthenticatorPush', 'passKeyDeviceBound'] : ['microsoftAuthenticatorPush'] };
    users.push(user);
    registration.push(row);
    members.push(id);
  }
  return fixture;
}

function allStaffCampaign(): Campaign {
  const c = loadCampaignFile('campaigns/all-staff-passkeys.yaml').campaign!;
  c.spec.status = 'inProgress';
  // Notices are paced to the mail limits; what is measured here is reading and deciding, so none are sent.
  c.spec.notifications = { ...c.spec.notifications, channel: 'none' } as Campaign['spec']['notifications'];
  return c;
}

describe('a target group of 200,000 members', () => {
  let h: Harness;
  let first: RunResult;
  let fixture: TenantFixture;

  beforeAll(async () => {
    fixture = largeTenant();
    h = await harness({ fixture, campaign: allStaffCampaign() });
    first = await h.run(0);
  }, 600_000);

  afterAll(async () => {
    await h?.close();
  });

  it('is read whole and every member is targeted', () => {
    const members = fixture.groups!.find((g) => g.id === SIM_IDS.allStaffGroup)!.members!;
    expect(members.length).toBe(MEMBERS);
    const users = new Map(fixture.users!.map((u) => [u.id, u]));
    const enabled = members.filter((id) => users.get(id)!.accountEnabled !== false).length;
    // Disabled accounts stay targeted (held where they are); the break-glass accounts are not members of All staff.
    expect(first.counts.targeted).toBe(MEMBERS);
    expect(first.counts.unread).toBe(0);
    expect(enabled).toBeGreaterThan(MEMBERS - 100);
    expect(first.counts.deviceUpdate + first.counts.passkeyRegistration + first.counts.enforcementNotice + first.counts.enforced).toBeGreaterThanOrEqual(MEMBERS - (MEMBERS - enabled) - 300);
  });

  it('places the plain members by what Graph showed of them', async () => {
    const state = await h.state();
    // No device and no passkey: registration; a passkey and no device to update: past registration.
    expect(state.users[memberId(1)]?.stage).toBe('passkeyRegistration');
    expect(state.users[memberId(MEMBERS - 400 - 1)]?.stage).toBe('passkeyRegistration');
    expect(state.users[memberId(PASSKEY_EVERY)]?.stage).not.toBe('passkeyRegistration');
    expect(state.users[memberId(PASSKEY_EVERY)]?.stage).not.toBe('deviceUpdate');
  });
});
