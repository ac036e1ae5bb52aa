import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCampaignFile, namesUniqueAcrossFiles, parseCampaign } from '../../src/campaign/load';
import { SUPPORTED_ROLES, SUPPORTED_ROLE_TEMPLATE_IDS } from '../../src/campaign/roles';
import { campaignSchema } from '../../src/campaign/schema';
import { fixtureCampaign, repoCampaignFiles } from '../helpers/campaigns';

const minimal = (name = 'minimal-campaign', extra = '') => `apiVersion: passkeys/v1
kind: PasskeyCampaign
metadata: { name: ${name} }
spec:
  targets: {}
  exclusions: { breakGlass: [B9000000-0000-4000-8000-000000000001] }
${extra}`;

describe('loading a campaign', () => {
  it('fills every default of DESIGN §3 into a minimal campaign', () => {
    const r = parseCampaign(minimal(), 'campaigns/minimal-campaign.yaml');
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.campaign).toEqual({
      apiVersion: 'passkeys/v1',
      kind: 'PasskeyCampaign',
      metadata: { name: 'minimal-campaign', description: '', owners: [] },
      spec: {
        status: 'notStarted',
        targets: { roles: [...SUPPORTED_ROLE_TEMPLATE_IDS], includeEligible: true, includeScopedRoleAssignments: false, groups: [], users: [] },
        exclusions: { breakGlass: ['b9000000-0000-4000-8000-000000000001'], acknowledgeNoBreakGlass: false, users: [], groups: [], retired: [] },
        devices: { activeWithinDays: 365, minimumOs: { Windows: '10.0.18362', macOS: '13.0', iOS: '17.0', Android: '14.0' } },
        stages: {
          deviceUpdate: { gracePeriodDays: 14, reminderEveryDays: 3 },
          passkeyRegistration: { gracePeriodDays: 14, reminderEveryDays: 3 },
          enforcement: { noticeDays: 7 },
        },
        postponement: { enabled: true, days: 3, maxTimes: 2 },
        notifications: { channel: 'teams', registrationUrl: 'https://aka.ms/mysecurityinfo' },
        enforcement: { policyState: 'reportOnly', maxNewPerRun: 50, mode: 'reportOnly', enableWhen: { observedDays: 14, maxWouldBlockUsersPercent: 1 }, maxGraduationsPerRun: 50 },
        onboarding: { temporaryAccessPass: { enabled: false, deliverTo: 'helpdesk', lifetimeMinutes: 480, usableOnce: true, maxPerRun: 20 } },
      },
    });
  });

  it('maps role names, aliases and GUIDs to lower-case template ids', () => {
    const text = minimal('roles-campaign').replace('targets: {}', 'targets: { roles: [GlobalAdministrator, IntuneServiceAdministrator, 9B895D92-2CD3-44C7-9D02-A6AC2D5EA5C3] }');
    const r = parseCampaign(text, 'roles-campaign.yaml');
    expect(r.errors).toEqual([]);
    expect(r.campaign?.spec.targets.roles).toEqual([SUPPORTED_ROLES.GlobalAdministrator, SUPPORTED_ROLES.IntuneAdministrator, '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3']);
  });

  it('keeps a partial minimumOs override and defaults the other platforms', () => {
    const r = parseCampaign(minimal('os-campaign', '  devices: { minimumOs: { iOS: "17.4" } }\n'), 'os-campaign.yaml');
    expect(r.campaign?.spec.devices.minimumOs).toEqual({ Windows: '10.0.18362', macOS: '13.0', iOS: '17.4', Android: '14.0' });
  });

  it('returns null and errors, never throws, for a campaign with errors', () => {
    const r = parseCampaign('apiVersion: [', 'x.yaml');
    expect(r.campaign).toBeNull();
    expect(r.errors.length).toBeGreaterThan(0);
  });

  it('turns a missing break-glass list into a warning when acknowledged', () => {
    const r = loadCampaignFile('test/fixtures/warnings/acknowledged-no-break-glass.yaml');
    expect(r.errors).toEqual([]);
    expect(r.campaign).not.toBeNull();
    expect(r.warnings.map((w) => `${w.line}:${w.col}: ${w.path}: ${w.rule}`)).toEqual(['14:30: spec.exclusions.acknowledgeNoBreakGlass: rule/breakGlassRequired']);
  });

  it('warns about duplicate entries, including a role written under two names', () => {
    const r = loadCampaignFile('test/fixtures/warnings/duplicate-entries.yaml');
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => `${w.line}:${w.col}: ${w.path}: ${w.message}`)).toEqual([
      '10:57: spec.targets.roles[2]: CompanyAdministrator is listed twice (same role template 62e90394-69f5-4237-9190-012177145e10). Remove the duplicate.',
      '11:32: spec.targets.users[1]: Alice@contoso.com is listed twice. Remove the duplicate.',
    ]);
  });

  it('rejects two files that declare the same campaign name', () => {
    const a = parseCampaign(minimal('same-name'), 'a/same-name.yaml');
    const b = parseCampaign(minimal('same-name'), 'b/same-name.yml');
    const d = namesUniqueAcrossFiles([a, b]);
    expect(d.map((x) => `${x.file}:${x.line}:${x.col}: ${x.path}: ${x.message}`)).toEqual([
      'b/same-name.yml:3:19: metadata.name: "same-name" is already the name of a/same-name.yaml. Campaign names must be unique: they name the enforcement group and the ledger.',
    ]);
  });

  // Whatever a team keeps in campaigns/ (the examples, or their own): every file loads, and a schema modeline
  // points at the schema file.
  it.each(repoCampaignFiles())('accepts %s from campaigns/, and its schema modeline names the schema file', (file) => {
    const r = loadCampaignFile(file);
    expect(r.errors).toEqual([]);
    const modeline = /^# yaml-language-server: \$schema=(\S+)/.exec(fs.readFileSync(file, 'utf8').split('\n')[0]);
    if (modeline) expect(fs.existsSync(path.resolve(path.dirname(file), modeline[1]))).toBe(true);
  });

  it.each(['admins-passkeys', 'all-staff-passkeys'] as const)('accepts the example %s with its schema modeline, warning only about its break-glass UPNs', (name) => {
    const file = fixtureCampaign(name);
    const r = loadCampaignFile(path.relative(process.cwd(), file));
    expect(r.errors).toEqual([]);
    // The examples name their placeholder break-glass accounts by UPN so they read well; a real campaign uses object ids.
    expect(r.warnings.map((w) => `${w.path}: ${w.rule}`)).toEqual(['spec.exclusions.breakGlass[0]: rule/breakGlassByObjectId', 'spec.exclusions.breakGlass[1]: rule/breakGlassByObjectId']);
    const schema = /^# yaml-language-server: \$schema=(\S+)$/.exec(fs.readFileSync(file, 'utf8').split('\n')[0])?.[1];
    expect(schema && path.resolve(path.dirname(file), schema)).toBe(path.resolve('campaigns/schema/campaign.schema.json'));
  });

  it('targets all 15 supported admin roles in the default admin example', () => {
    const r = loadCampaignFile('test/fixtures/campaigns/admins-passkeys.yaml');
    expect(new Set(r.campaign?.spec.targets.roles)).toEqual(new Set(SUPPORTED_ROLE_TEMPLATE_IDS));
    expect(SUPPORTED_ROLE_TEMPLATE_IDS).toHaveLength(15);
  });
});

describe('the campaign JSON Schema', () => {
  it('is pinned: a change to it must update this snapshot in the same review', () => {
    expect(campaignSchema()).toMatchSnapshot();
  });

  it('describes every property, so editors show help on hover', () => {
    const missing: string[] = [];
    const walk = (node: Record<string, unknown>, at: string) => {
      const props = node.properties as Record<string, Record<string, unknown>> | undefined;
      for (const [k, v] of Object.entries(props ?? {})) {
        if (typeof v.description !== 'string' || v.description.length < 10) missing.push(`${at}${k}`);
        walk(v, `${at}${k}.`);
      }
    };
    const schema = campaignSchema();
    walk(schema, '');
    for (const [name, def] of Object.entries(schema.$defs as Record<string, Record<string, unknown>>)) walk(def, `$defs.${name}.`);
    expect(missing).toEqual([]);
  });

  it('declares JSON Schema 2020-12', () => {
    expect(campaignSchema().$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });
});

// Issue #12 item 6: a file the YAML library cannot turn into data is a finding about that file, not a crash.
describe('a campaign file that cannot be loaded', () => {
  it('a YAML alias bomb is an error at its first alias', () => {
    const text = minimal('minimal-campaign', [
      'x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      'x-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'x-d: [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    ].join('\n'));
    const r = parseCampaign(text, 'campaigns/minimal-campaign.yaml');
    expect(r.campaign).toBeNull();
    expect(r.errors).toEqual([{ severity: 'error', file: 'campaigns/minimal-campaign.yaml', line: 8, col: 10, path: '', rule: 'yaml/alias',
      message: 'invalid YAML: Excessive alias count indicates a resource exhaustion attack. A campaign needs no anchors or aliases (&name, *name): write the values out.' }]);
  });

  it('an alias without its anchor is an error at the alias', () => {
    const r = parseCampaign(minimal('minimal-campaign', 'x-b: *missing\n'), 'campaigns/minimal-campaign.yaml');
    expect(r.errors).toMatchObject([{ line: 7, col: 6, rule: 'yaml/alias', message: expect.stringContaining('Unresolved alias') }]);
  });

  it('a path that cannot be read is an error about that file, by its system error code', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unreadable-campaign-'));
    try {
      const r = loadCampaignFile(dir);
      expect(r.campaign).toBeNull();
      expect(r.errors).toEqual([{ severity: 'error', file: dir, line: 1, col: 1, path: '', rule: 'file/EISDIR', message: 'cannot read the file: is a directory (EISDIR). Pass a file.' }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
