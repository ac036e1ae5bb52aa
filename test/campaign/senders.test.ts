import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCampaign } from '../../src/campaign/load';

const base = fs.readFileSync('test/fixtures/campaigns/all-staff-passkeys.yaml', 'utf8');
const withSenders = (list: string) => base.replace('    sender: passkeys@contoso.com\n', `    senders: ${list}\n`);

describe('spec.notifications.senders', () => {
  it('accepts several sender mailboxes', () => {
    const r = parseCampaign(withSenders('[passkeys1@contoso.com, passkeys2@contoso.com]'), 'all-staff-passkeys.yaml');
    expect(r.errors).toEqual([]);
    expect(r.campaign?.spec.notifications.senders).toEqual(['passkeys1@contoso.com', 'passkeys2@contoso.com']);
  });

  it.each([
    ['an entry that is no mailbox name', '[not-a-mailbox]', /spec\.notifications\.senders\[0\]/],
    ['the same mailbox twice', '[a@contoso.com, a@contoso.com]', /spec\.notifications\.senders/],
    ['an empty list', '[]', /spec\.notifications\.senders/],
  ])('rejects %s, naming the field', (_name, list, field) => {
    const r = parseCampaign(withSenders(list), 'all-staff-passkeys.yaml');
    expect(r.campaign).toBeNull();
    expect(r.errors.map((d) => `${d.path} ${d.message}`).join('\n')).toMatch(field);
  });
});
