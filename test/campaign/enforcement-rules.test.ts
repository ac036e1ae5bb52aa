// The enforcement rules of a campaign file: the gate reminder (file, line, field, thresholds), break-glass for a
// graduated campaign, and names that would collide with another campaign's graduated policy.
import { describe, expect, it } from 'vitest';
import { parseCampaign } from '../../src/campaign/load';
import { formatDiagnostic } from '../../src/campaign/validate';

const FILE = 'campaigns/admins-pilot.yaml';
const campaign = (enforcement: string, { name = 'admins-pilot', breakGlass = '[B9000000-0000-4000-8000-000000000001]' } = {}) => `apiVersion: passkeys/v1
kind: PasskeyCampaign
metadata: { name: ${name} }
spec:
  targets: {}
  exclusions: { breakGlass: ${breakGlass}, acknowledgeNoBreakGlass: true }
  enforcement:
${enforcement}
`;

const lines = (text: string, file = FILE) => {
  const r = parseCampaign(text, file);
  return { errors: r.errors.map(formatDiagnostic), warnings: r.warnings.map(formatDiagnostic) };
};

describe('the enableWhen gate reminder', () => {
  it('says nothing for a report-only campaign', () => {
    expect(lines(campaign('    policyState: reportOnly'))).toEqual({ errors: [], warnings: [] });
  });

  it('reminds an author who enables the policy that the pull request runs campaign impact against the thresholds, at the policyState line', () => {
    expect(lines(campaign('    policyState: enabled\n    enableWhen: { observedDays: 21, maxWouldBlockUsersPercent: 2.5 }'))).toEqual({
      errors: [],
      warnings: [
        'campaigns/admins-pilot.yaml:8:18: warning: spec.enforcement.policyState: enabled: the pull request runs `campaign impact` for this campaign and fails unless the sign-ins show at most 2.5% of the enforcement group\'s users with a sign-in the report-only policy would have blocked in the last 21 days (spec.enforcement.enableWhen). Run `campaign impact --campaign admins-pilot` first to see who would be blocked.',
      ],
    });
  });

  it('names the default thresholds when enableWhen is not written', () => {
    const { warnings } = lines(campaign('    policyState: enabled'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('at most 1% of the enforcement group\'s users with a sign-in the report-only policy would have blocked in the last 14 days');
  });

  it('tells a graduated campaign how users qualify, how many move per run and that enabling the whole policy is gated, at the mode line', () => {
    expect(lines(campaign('    policyState: reportOnly\n    mode: graduated\n    maxGraduationsPerRun: 10'))).toEqual({
      errors: [],
      warnings: [
        'campaigns/admins-pilot.yaml:9:11: warning: spec.enforcement.mode: graduated: a user moves to the enabled policy only when their own sign-ins in the last 14 days show no would-block result and at least one phishing-resistant sign-in, at most 10 users a run; enabling the whole policy later is checked by `campaign impact` in the pull request (at most 1% of the enforcement group\'s users with a sign-in the report-only policy would have blocked in the last 14 days (spec.enforcement.enableWhen)).',
      ],
    });
  });
});

describe('break-glass for enabled policies', () => {
  it('rejects graduated mode without a break-glass account, at the mode line', () => {
    const { errors } = lines(campaign('    mode: graduated', { breakGlass: '[]' }));
    expect(errors).toEqual([
      'campaigns/admins-pilot.yaml:8:11: spec.enforcement.mode: graduated puts graduated users under an enabled policy, which requires at least one break-glass account in spec.exclusions.breakGlass; without one it can lock every admin out. Add the account or use mode: reportOnly.',
    ]);
  });

  it('accepts graduated mode with a break-glass account', () => {
    expect(lines(campaign('    mode: graduated')).errors).toEqual([]);
  });
});

describe('campaign names', () => {
  it('rejects a name ending in -graduated, which would name another campaign\'s graduated policy', () => {
    const { errors } = lines(campaign('    policyState: reportOnly', { name: 'admins-graduated' }), 'campaigns/admins-graduated.yaml');
    expect(errors).toEqual([
      'campaigns/admins-graduated.yaml:3:19: metadata.name: must not end in "-graduated": its Conditional Access policy would be named like the graduated policy of a campaign "admins" (passkey-campaign-admins-graduated-policy). Choose another name.',
    ]);
  });

  it('accepts graduated inside a name', () => {
    expect(lines(campaign('    policyState: reportOnly', { name: 'graduated-admins' }), 'campaigns/graduated-admins.yaml').errors).toEqual([]);
  });
});
