import { describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { captureIo } from '../helpers/io';

// One defect per file; every message asserted exactly, with its file:line:col.
const F = 'test/fixtures/invalid';
const cases: Array<{ name: string; lines: string[] }> = [
  { name: 'malformed-yaml', lines: [`${F}/malformed-yaml.yaml:11:5: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ].`] },
  { name: 'empty-file', lines: [`${F}/empty-file.yaml:1:1: file is empty: a campaign needs apiVersion, kind, metadata and spec. Start from campaigns/admins-passkeys.yaml.`] },
  { name: 'comments-only', lines: [`${F}/comments-only.yaml:1:1: file is empty: a campaign needs apiVersion, kind, metadata and spec. Start from campaigns/admins-passkeys.yaml.`] },
  { name: 'duplicate-key', lines: [`${F}/duplicate-key.yaml:9:3: duplicate key "status": YAML would silently keep only one of the values. Remove the duplicate.`] },
  { name: 'unknown-field-typo', lines: [`${F}/unknown-field-typo.yaml:15:21: spec.stages.deviceUpdate.gracePeroidDays: unknown field "gracePeroidDays". Did you mean "gracePeriodDays"?`] },
  { name: 'unknown-field-far', lines: [`${F}/unknown-field-far.yaml:7:3: metadata.labels: unknown field "labels". Valid fields here: name, description, owners.`] },
  { name: 'stage-typo', lines: [`${F}/stage-typo.yaml:16:5: spec.stages.passkeyRegistation: unknown field "passkeyRegistation". Did you mean "passkeyRegistration"?`] },
  { name: 'wrong-type-grace', lines: [`${F}/wrong-type-grace.yaml:17:24: spec.stages.passkeyRegistration.gracePeriodDays: must be a whole number (got "two weeks").`] },
  { name: 'wrong-type-boolean', lines: [`${F}/wrong-type-boolean.yaml:12:22: spec.targets.includeEligible: must be true or false (got "yes").`] },
  { name: 'status-typo', lines: [`${F}/status-typo.yaml:8:11: spec.status: must be one of notStarted, inProgress, paused, ended (got "inprogress"). Did you mean "inProgress"?`] },
  { name: 'bad-api-version', lines: [`${F}/bad-api-version.yaml:2:13: apiVersion: must be "passkeys/v1" (got "passkeys/v2").`] },
  { name: 'bad-kind', lines: [`${F}/bad-kind.yaml:3:7: kind: must be "PasskeyCampaign" (got "Campaign").`] },
  { name: 'missing-name', lines: [`${F}/missing-name.yaml:5:3: metadata.name: is required. Add "name:" here.`] },
  { name: 'bad-name-pattern', lines: [`${F}/bad-name-pattern.yaml:5:9: metadata.name: "Bad_Name" is not valid: use 3–40 characters of a–z, 0–9 and "-", starting and ending with a letter or digit (e.g. admins-passkeys).`] },
  { name: 'name-mismatch', lines: [`${F}/name-mismatch.yaml:5:9: metadata.name: "other-name" does not match the file name "name-mismatch.yaml". Rename the file to other-name.yaml or set metadata.name: name-mismatch.`] },
  { name: 'missing-targets', lines: [`${F}/missing-targets.yaml:8:3: spec.targets: is required. Add spec.targets (an empty mapping \`targets: {}\` targets the 15 supported admin roles).`] },
  { name: 'missing-exclusions', lines: [`${F}/missing-exclusions.yaml:8:3: spec.exclusions: is required. Add spec.exclusions.breakGlass with your emergency-access accounts.`] },
  { name: 'no-break-glass', lines: [`${F}/no-break-glass.yaml:13:17: spec.exclusions.breakGlass: must list at least one emergency-access (break-glass) account, so a mistake in the Conditional Access policy can never lock every admin out. Add its object id, or set acknowledgeNoBreakGlass: true if the tenant truly has none.`] },
  {
    name: 'break-glass-targeted',
    lines: [
      `${F}/break-glass-targeted.yaml:11:32: spec.targets.users[1]: BG1@contoso.com is a break-glass account and is also targeted. Break-glass accounts are never part of a campaign; remove it from spec.targets.users.`,
      `${F}/break-glass-targeted.yaml:13:18: warning: spec.exclusions.breakGlass[0]: bg1@contoso.com is a UPN, which changes when the account is renamed; every run then stops until the file is fixed. Use the account's object id instead (Entra admin center › Users › Object ID, or the id \`campaign history\` shows recorded for it), with the UPN as a comment.`,
    ],
  },
  { name: 'grace-zero', lines: [`${F}/grace-zero.yaml:17:24: spec.stages.passkeyRegistration.gracePeriodDays: must be ≥ 1 (got 0). Give users at least a day.`] },
  { name: 'reminder-not-shorter', lines: [`${F}/reminder-not-shorter.yaml:15:61: spec.stages.deviceUpdate.reminderEveryDays: must be shorter than the grace period (14 ≥ gracePeriodDays 14), otherwise no reminder is ever sent. Use at most 13.`] },
  {
    name: 'enabled-without-break-glass',
    lines: [
      `${F}/enabled-without-break-glass.yaml:14:30: warning: spec.exclusions.acknowledgeNoBreakGlass: no break-glass account is excluded (acknowledged). If the Conditional Access policy misfires, no admin can sign in without a passkey; add an emergency-access account as soon as you have one.`,
      `${F}/enabled-without-break-glass.yaml:23:18: spec.enforcement.policyState: enabled requires at least one break-glass account in spec.exclusions.breakGlass; an enforced policy without one can lock every admin out. Add the account or keep reportOnly.`,
    ],
  },
  { name: 'unknown-role', lines: [`${F}/unknown-role.yaml:10:13: spec.targets.roles[0]: "GlobalAdmin" is not a supported admin role. Did you mean "GlobalAdministrator"? Valid roles: AuthenticationAdministrator, BillingAdministrator, CloudApplicationAdministrator, ConditionalAccessAdministrator, ExchangeAdministrator, GlobalAdministrator, HelpdeskAdministrator, IntuneAdministrator, PasswordAdministrator, PrivilegedAuthenticationAdministrator, PrivilegedRoleAdministrator, SecurityAdministrator, SharePointAdministrator, TeamsAdministrator, UserAdministrator, or a role template GUID.`] },
  { name: 'bad-upn', lines: [`${F}/bad-upn.yaml:11:13: spec.targets.users[0]: "alice" is not valid: use a user principal name (name@contoso.com) or an object id (GUID).`] },
  { name: 'bad-group-id', lines: [`${F}/bad-group-id.yaml:12:14: spec.targets.groups[0]: "all-staff" is not valid: use the group's object id (a GUID, shown in the Entra admin center under Groups › Overview).`] },
  { name: 'bad-os-version', lines: [`${F}/bad-os-version.yaml:15:27: spec.devices.minimumOs.Windows: "Win10" is not valid: use a dotted numeric version such as 10.0.18362 or 17.0.`] },
  { name: 'unknown-os-platform', lines: [`${F}/unknown-os-platform.yaml:15:18: spec.devices.minimumOs.Linux: unknown field "Linux". Valid fields here: Windows, macOS, iOS, Android.`] },
  { name: 'bad-channel', lines: [`${F}/bad-channel.yaml:20:14: spec.notifications.channel: must be one of teams, email, none (got "slack").`] },
  { name: 'http-registration-url', lines: [`${F}/http-registration-url.yaml:21:22: spec.notifications.registrationUrl: "http://aka.ms/mysecurityinfo" is not valid: use an https:// address, e.g. https://aka.ms/mysecurityinfo.`] },
  { name: 'empty-targets', lines: [`${F}/empty-targets.yaml:10:5: spec.targets: targets nobody: roles, groups and users are all empty. Remove "roles: []" to target the 15 supported admin roles, or list groups or users.`] },
  { name: 'notice-zero', lines: [`${F}/notice-zero.yaml:19:32: spec.stages.enforcement.noticeDays: must be ≥ 1 (got 0).`] },
  { name: 'multiple-documents', lines: [`${F}/multiple-documents.yaml:23:1: holds more than one YAML document: keep one campaign per file, named after metadata.name.`] },
  { name: 'top-level-list', lines: [`${F}/top-level-list.yaml:1:1: must be a mapping (got a list).`] },
  { name: 'max-new-per-run-zero', lines: [`${F}/max-new-per-run-zero.yaml:23:19: spec.enforcement.maxNewPerRun: must be ≥ 1 (got 0).`] },
  { name: 'policy-state-typo', lines: [`${F}/policy-state-typo.yaml:22:18: spec.enforcement.policyState: must be one of reportOnly, enabled (got "enforced").`] },
];

describe('campaign validate on broken campaign files', () => {
  it('has a fixture file for every case and a case for every fixture file', async () => {
    const fs = await import('node:fs');
    const files = fs.readdirSync(F).map((f) => f.replace(/\.yaml$/, '')).sort();
    expect(files).toEqual(cases.map((c) => c.name).sort());
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases)('rejects $name with exit 1 and a positioned message', async ({ name, lines }) => {
    const io = captureIo();
    const code = await run(['validate', `${F}/${name}.yaml`], io);
    expect(code).toBe(1);
    const out = io.out().trim().split('\n');
    expect(out.slice(0, -1)).toEqual(lines);
    expect(out.at(-1)).toMatch(/^1 campaign file checked: 1 invalid, \d+ errors?/);
    expect(io.err()).toBe('');
  });

  it('reports every broken file of a directory in one run', async () => {
    const io = captureIo();
    const code = await run(['validate', F, '--format', 'json'], io);
    expect(code).toBe(1);
    const report = JSON.parse(io.out());
    expect(report.summary.files).toBe(cases.length);
    expect(report.summary.invalid).toBe(cases.length);
    for (const f of report.files) expect(f.errors.length).toBeGreaterThan(0);
  });
});
