// directoryScopeId: a role held only in an administrative unit does not make its holder a target unless the
// campaign says so, and plan shows how many holders that leaves out.
import { afterEach, describe, expect, it } from 'vitest';
import { SIM_IDS } from '../../src/sim/generate';
import { adminCampaign, harness, type Harness } from './harness';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A fixture where one admin (not break-glass) holds every campaign role only in an administrative unit. */
async function scopedAdmin(includeScoped: boolean) {
  const campaign = adminCampaign();
  campaign.spec.targets.includeScopedRoleAssignments = includeScoped;
  h = await harness({ campaign });
  const users = new Set(h.fixture.users!.map((u) => u.id));
  const principal = h.fixture.roleAssignments!.map((a) => a.principalId).find((p) => users.has(p) && p !== SIM_IDS.breakGlass1 && p !== SIM_IDS.breakGlass2)!;
  const scoped = [...h.fixture.roleAssignments!, ...(h.fixture.roleEligibilityScheduleInstances ?? [])].filter((a) => a.principalId === principal);
  await h.patch({
    roleAssignments: h.fixture.roleAssignments!.filter((a) => a.principalId === principal).map((a) => ({ ...a, directoryScopeId: '/administrativeUnits/au-1' })),
    roleEligibilityScheduleInstances: (h.fixture.roleEligibilityScheduleInstances ?? []).filter((a) => a.principalId === principal).map((a) => ({ ...a, directoryScopeId: '/administrativeUnits/au-1' })),
  });
  expect(scoped.length).toBeGreaterThan(0);
  return principal;
}

describe('role assignments scoped to an administrative unit', () => {
  it('are left out by default, plan says how many holders that is, and the campaign option targets them', async () => {
    await scopedAdmin(false);
    const plan = await h!.run(0, false);
    expect(plan.warnings).toContain('1 holder of the campaign\'s roles has them only in an administrative unit scope (directoryScopeId other than "/") and is not targeted; set spec.targets.includeScopedRoleAssignments: true to target it.');
    h!.campaign.spec.targets.includeScopedRoleAssignments = true;
    const withScoped = await h!.run(0, false);
    expect(withScoped.counts.targeted).toBe(plan.counts.targeted + 1);
    expect(withScoped.warnings.join('\n')).not.toMatch(/administrative unit scope/);
  });
});
