// The onboarding tests' tenant and campaign: the generated tenant with users who cannot register a passkey on
// their own, a sender mailbox, and the all-staff campaign with onboarding passes on.
import { loadCampaignFile } from '../../src/campaign/load';
import type { Campaign } from '../../src/campaign/types';
import type { LedgerEvent, OnboardingPassIssuedEvent } from '../../src/ledger/events';
import type { TenantFixture } from '../../src/sim/fixture';
import { generateTenant } from '../../src/sim/generate';
import { START } from './harness';

export const SENDER = 'passkeys@contoso.com';
export const SENDER_ID = 'e1000000-0000-4000-8000-000000000001';

export function onboardingCampaign(tap: Partial<Campaign['spec']['onboarding']['temporaryAccessPass']> = {}): Campaign {
  const c = loadCampaignFile('test/fixtures/campaigns/all-staff-passkeys.yaml').campaign!;
  c.spec.status = 'inProgress';
  c.spec.notifications.sender = SENDER;
  c.spec.exclusions.users = [EXCLUDED];
  c.spec.onboarding.temporaryAccessPass = { enabled: true, deliverTo: 'manager', lifetimeMinutes: 480, usableOnce: true, maxPerRun: 20, ...tap };
  return c;
}

const PASSKEY = /^(passKey|fido2)/i;
/** An excluded account with a manager and no method: must never get a pass. */
export const EXCLUDED = 'excluded.kiosk@contoso.com';
export const EXCLUDED_ID = 'e2000000-0000-4000-8000-000000000002';

/**
 * The generated tenant, with every user who holds no passkey left with only SSPR methods (email), so they cannot
 * register a passkey on their own; break-glass accounts and an excluded account get a manager too (they must never
 * get a pass anyway).
 */
export function onboardingTenant(opts: { roles?: string[]; noManager?: number } = {}): TenantFixture {
  const f = generateTenant({ users: 60, admins: 4, seed: 7, now: START.toISOString() });
  const lead = f.users!.find((u) => u.userPrincipalName.startsWith('lidia.schmidt'))!.id;
  for (const r of f.userRegistrationDetails!) {
    if (!(r.methodsRegistered ?? []).some((m) => PASSKEY.test(m))) r.methodsRegistered = ['email'];
  }
  for (const u of f.users!) if (u.userPrincipalName.startsWith('bg')) u.managerId = lead;
  f.users!.push({ id: EXCLUDED_ID, userPrincipalName: EXCLUDED, displayName: 'Kiosk', accountEnabled: true, mail: EXCLUDED, managerId: lead });
  f.userRegistrationDetails!.push({ id: EXCLUDED_ID, userPrincipalName: EXCLUDED, methodsRegistered: [] });
  // Users without a manager, deterministically: the first n of the stuck ones (by UPN).
  if (opts.noManager) {
    const stuck = new Set(f.userRegistrationDetails!.filter((r) => r.methodsRegistered!.length === 1).map((r) => r.id));
    const sorted = f.users!.filter((u) => stuck.has(u.id) && u.managerId).sort((a, b) => (a.userPrincipalName < b.userPrincipalName ? -1 : 1));
    for (const u of sorted.slice(0, opts.noManager)) u.managerId = null;
  }
  f.users!.push({ id: SENDER_ID, userPrincipalName: SENDER, displayName: 'Passkey campaigns', accountEnabled: true, mail: SENDER });
  f.mailboxes = f.users!.filter((u) => u.mail).map((u) => u.userPrincipalName);
  if (opts.roles) f.application = { appId: '11111111-2222-4333-8444-555555555555', appRoles: opts.roles };
  return f;
}


export const issuedOf = (events: LedgerEvent[]) => events.filter((e): e is OnboardingPassIssuedEvent => e.type === 'onboardingPassIssued');
