// Exemption entries in the campaign file (issue #11): validate's warning on break-glass UPNs and the
// spec.exclusions.retired marker (schema and rules). The lock rule's side is in lock-rule.test.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { parseCampaign } from '../../src/campaign/load';
import { captureIo } from '../helpers/io';

const BG1_ID = 'b9000000-0000-4000-8000-000000000001';
const GROUP_ID = 'a1100000-0000-4000-8000-0000000000e1';
const campaignText = (exclusions: string) => `apiVersion: passkeys/v1
kind: PasskeyCampaign
metadata: { name: exempt-campaign }
spec:
  targets: {}
  exclusions:
${exclusions}
`;

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('validate on break-glass entries', () => {
  it('warns on each break-glass entry given by UPN, positioned, suggesting the object id; not on object ids', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exempt-validate-'));
    const file = path.join(dir, 'exempt-campaign.yaml');
    fs.writeFileSync(file, campaignText(`    breakGlass: [${BG1_ID}, bg2@contoso.com]   # bg1, bg2\n    users: [carol@contoso.com]`));
    const io = captureIo();
    const code = await run(['validate', file], io);
    expect(io.err()).toBe('');
    expect(io.out()).toBe(
      `${file}:7:56: warning: spec.exclusions.breakGlass[1]: bg2@contoso.com is a UPN, which changes when the account is renamed; every run then stops until the file is fixed. ` +
        "Use the account's object id instead (Entra admin center › Users › Object ID, or the id `campaign history` shows recorded for it), with the UPN as a comment.\n" +
        `ok ${file} (exempt-campaign, notStarted)\n` +
        '1 campaign file checked: all valid (1 warning).\n',
    );
    expect(code).toBe(0);
  });
});

describe('the retired marker', () => {
  it('loads with object ids lower-cased and the retired entries kept as written', () => {
    const r = parseCampaign(campaignText(`    breakGlass: [${BG1_ID}]
    retired:
      - { entry: bg9@contoso.com, from: breakGlass, by: alice@contoso.com, reason: account deleted (CHG-1) }
      - { entry: ${GROUP_ID.toUpperCase()}, from: groups, by: bob@contoso.com, reason: group deleted }`), 'campaigns/exempt-campaign.yaml');
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.campaign?.spec.exclusions.retired).toEqual([
      { entry: 'bg9@contoso.com', from: 'breakGlass', by: 'alice@contoso.com', reason: 'account deleted (CHG-1)' },
      { entry: GROUP_ID, from: 'groups', by: 'bob@contoso.com', reason: 'group deleted' },
    ]);
  });

  it.each([
    {
      name: 'rejects a marker without who retired it',
      retired: '      - { entry: bg9@contoso.com, from: breakGlass, reason: deleted }',
      want: '9:9: spec.exclusions.retired[0].by: is required. Add "by:" here.',
    },
    {
      name: 'rejects a marker whose "by" is not a mail address or UPN',
      retired: '      - { entry: bg9@contoso.com, from: breakGlass, by: alice, reason: deleted }',
      want: '9:57: spec.exclusions.retired[0].by: "alice" is not valid: use the mail address or UPN of the person who decided to retire the entry (name@contoso.com).',
    },
    {
      name: 'rejects a marker naming a list that does not exist',
      retired: '      - { entry: bg9@contoso.com, from: breakglass, by: alice@contoso.com, reason: deleted }',
      want: '9:41: spec.exclusions.retired[0].from: must be one of breakGlass, users, groups (got "breakglass"). Did you mean "breakGlass"?',
    },
    {
      name: 'rejects a marker with an empty reason',
      retired: '      - { entry: bg9@contoso.com, from: breakGlass, by: alice@contoso.com, reason: "" }',
      want: '9:84: spec.exclusions.retired[0].reason: must not be empty.',
    },
    {
      name: 'rejects retiring an entry that is still listed',
      retired: `      - { entry: ${BG1_ID.toUpperCase()}, from: breakGlass, by: alice@contoso.com, reason: deleted }`,
      want: `9:18: spec.exclusions.retired[0].entry: ${BG1_ID} is retired but still listed in spec.exclusions.breakGlass. Remove it from spec.exclusions.breakGlass: a retired entry is no longer resolved, and the accounts the ledger recorded for it stay excluded.`,
    },
    {
      name: 'rejects a retired group entry that is not an object id',
      retired: '      - { entry: staff@contoso.com, from: groups, by: alice@contoso.com, reason: deleted }',
      want: '9:18: spec.exclusions.retired[0].entry: "staff@contoso.com" is not an object id, so it was never an entry of spec.exclusions.groups (groups are listed by object id). Write the group\'s object id as it was listed.',
    },
  ])('$name', ({ retired, want }) => {
    const r = parseCampaign(campaignText(`    breakGlass: [${BG1_ID}]\n    retired:\n${retired}`), 'campaigns/exempt-campaign.yaml');
    expect(r.campaign).toBeNull();
    expect(r.errors.map((d) => `${d.line}:${d.col}: ${d.path}: ${d.message}`)).toEqual([want]);
  });
});
