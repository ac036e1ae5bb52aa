// Onboarding passes in the status report: who needs one (whether or not the campaign issues passes), the
// passes the ledger records as issued, queued and expired, and the helpdesk queue in CSV and Markdown.
import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/ledger/events';
import { buildReport, describeEvent, formatStatusText, renderDashboard, renderMarkdown } from '../../src/report/index';
import { QUEUE_CSV_HEADER, renderQueueCsv, renderQueueMarkdown } from '../../src/report/onboarding';
import { campaign, day, user } from '../engine/fixtures';
import { enter, ledger, obs, run, SECRET, who, withTap } from './onboarding-fixtures';

describe('onboarding passes in the status report', () => {
  it('counts the users who need a pass and the passes issued, queued and expired, with manager delivery on', () => {
    const r = buildReport({ campaign: withTap({ enabled: true, deliverTo: 'manager' }), events: ledger(), observation: obs() });
    expect(r.onboarding).toMatchObject({ enabled: true, deliverTo: 'manager', needPass: 3, issued: 2, expired: 1, queued: 1 });
    // Ann is queued since her first onboardingQueued; gus left the queue when his pass was issued.
    expect(r.onboarding.queue).toEqual([
      { userId: 'u-ann', userPrincipalName: 'ann@contoso.com', displayName: '=HYPERLINK("http://evil")', reason: 'noManager', why: 'No manager is recorded for the user, so no pass could go to a manager.', since: day(1) },
    ]);
    expect(formatStatusText(r)).toContain('3 users need an onboarding pass (Temporary Access Pass; the campaign\'s passes go to managers) · passes issued 2 · queued for the helpdesk 1 · expired unused 1');
  });

  it('reports who needs a pass with the feature off, and queues each of them for the helpdesk', () => {
    const r = buildReport({ campaign: campaign(), events: run(0, 'r0', ['ann', 'ben', 'cat', 'dan', 'fay', 'gus'].map((id) => enter(id, 'passkeyRegistration')).concat(enter('eve', 'deviceUpdate'))), observation: obs() });
    expect(r.onboarding).toMatchObject({ enabled: false, needPass: 3, issued: 0, expired: 0, queued: 3 });
    expect(r.onboarding.queue.map((q) => [q.userPrincipalName, q.reason, q.since])).toEqual([
      ['ann@contoso.com', 'featureOff', day(0)], ['ben@contoso.com', 'featureOff', day(0)], ['gus@contoso.com', 'featureOff', day(0)],
    ]);
    const text = formatStatusText(r);
    expect(text).toContain("3 users need an onboarding pass (Temporary Access Pass; the campaign's onboarding passes are off) · passes issued 0 · queued for the helpdesk 3 · expired unused 0");
    expect(text).toContain('Write the helpdesk queue: campaign status --campaign admins-passkeys --onboarding-queue FILE');
  });

  it('drops a queued user who has since registered a method that can satisfy MFA', () => {
    const o = obs();
    o.users[0] = user({ ...who('ann'), methodsRegistered: ['microsoftAuthenticatorPush'], fido2Methods: [] });
    const r = buildReport({ campaign: withTap({ enabled: true, deliverTo: 'manager' }), events: ledger(), observation: o });
    expect(r.onboarding).toMatchObject({ needPass: 2, queued: 0, queue: [] });
  });

  it('shows the onboarding counts and the queue in the Markdown summary and the dashboard', () => {
    const c = withTap({ enabled: true, deliverTo: 'manager' });
    const r = buildReport({ campaign: c, events: ledger(), observation: obs() });
    const md = renderMarkdown(r);
    expect(md).toContain('### Onboarding passes\n\n3 users need an onboarding pass (Temporary Access Pass; the campaign\'s passes go to managers) · passes issued 2 · queued for the helpdesk 1 · expired unused 1.');
    expect(md).toContain('| `ann@contoso.com` | No manager is recorded for the user, so no pass could go to a manager. | 2026-12-02 |');
    // The last run (r2) queued ann again, found ben's pass expired and issued gus's.
    expect(r.lastRunChanges?.onboarding).toEqual({ issued: 1, queued: 1, expired: 1 });
    expect(md).toMatch(/^Run `r2` at .*, 1 onboarding pass issued, 1 queued for the helpdesk, 1 expired unused\.$/m);
    const html = renderDashboard(r, c);
    expect(html).toContain('<h2 id="onboarding-h">Onboarding passes</h2>');
    expect(html).toContain('<td>2</td><td>1</td><td>1</td>');
    expect(html).toContain('<code>ann@contoso.com</code>');
  });

  it('writes the helpdesk queue as CSV with formula-like cells neutralised, and as Markdown with the instructions', () => {
    const c = withTap({ enabled: true, deliverTo: 'manager' });
    const r = buildReport({ campaign: c, events: ledger(), observation: obs() });
    const csv = renderQueueCsv(r.onboarding, c);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(QUEUE_CSV_HEADER.join(','));
    expect(lines).toHaveLength(3); // header, ann, the empty string after the last CRLF
    // The display name starts like a formula: an apostrophe keeps it text; commas and quotes are quoted (RFC 4180).
    expect(lines[1].startsWith(`ann@contoso.com,"'=HYPERLINK(""http://evil"")","No manager is recorded for the user, so no pass could go to a manager.",`)).toBe(true);
    expect(lines[1]).toContain(',2026-12-02,https://aka.ms/mysecurityinfo,"Verify the person\'s identity out of band first');
    expect(lines[1]).toContain("never to the user's own mailbox or Teams");
    expect(lines[1]).toContain('usable once, valid 8 hours');
    const md = renderQueueMarkdown(r.onboarding, c);
    expect(md).toContain('1 user waiting for an onboarding pass (a Temporary Access Pass) from the helpdesk.');
    expect(md).toContain('signs in with it at https://aka.ms/mysecurityinfo and registers a passkey there.');
    expect(md).toContain('| ann@contoso.com | =HYPERLINK("http://evil") | No manager is recorded for the user, so no pass could go to a manager. | 2026-12-02 |');
  });

  it('never carries a pass value, even from an event that holds one', () => {
    const events = ledger().map((e) => (e.type === 'onboardingPassIssued' ? ({ ...e, temporaryAccessPass: SECRET } as LedgerEvent) : e));
    const c = withTap({ enabled: true, deliverTo: 'manager' });
    const r = buildReport({ campaign: c, events, observation: obs() });
    for (const out of [JSON.stringify(r), formatStatusText(r), renderMarkdown(r), renderDashboard(r, c), renderQueueCsv(r.onboarding, c), renderQueueMarkdown(r.onboarding, c)]) {
      expect(out).not.toContain(SECRET);
    }
  });

  it('describes the onboarding events in the history field by field, never a pass an event carries', () => {
    const texts = ledger().filter((e) => e.type.startsWith('onboarding')).map((e) => describeEvent({ ...e, temporaryAccessPass: SECRET } as unknown as LedgerEvent).text);
    expect(texts).toEqual([
      'needs an onboarding pass: queued for the helpdesk (noManager)',
      `onboarding pass tap-ben issued (usable once, 480 minutes, valid ${day(1)} to ${day(1 + 1 / 3)}), mailed to the manager boss@contoso.com`,
      'needs an onboarding pass: queued for the helpdesk (managerUnreadable)',
      'needs an onboarding pass: queued for the helpdesk (noManager)',
      `onboarding pass tap-ben expired unused at ${day(1 + 1 / 3)}`,
      `onboarding pass tap-gus issued (usable once, 480 minutes, valid ${day(2)} to ${day(2 + 1 / 3)}), mailed to the manager boss@contoso.com`,
    ]);
  });
});
