// Issue #11 cases 3, 4 and 6 through the CLI against the emulator: notification delivery on the wire.
// 3: an email sender without a mailbox stops the run (exit 2, naming the sender), nobody counts as told.
// 4: one Teams recipient answering 403 is that recipient's failure; everyone else, later batches included, is notified.
// 6: email goes to the user's mailbox address (`mail`), never to the UPN.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import type { LedgerEvent, NotificationDispatchEvent, NotificationOutcomeEvent } from '../../src/ledger/events';
import { FileStore } from '../../src/ledger/file/store';
import type { TenantFixture } from '../../src/sim/fixture';
import { generateTenant, SIM_IDS } from '../../src/sim/generate';
import type { SimNotification } from '../../src/sim/routes';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { captureIo, sharedClock } from '../helpers/io';

const ROOT = path.resolve(__dirname, '..', '..');
const NOW = '2026-12-01T06:00:00Z';
const SENDER = 'passkeys@contoso.com';
// The catalog id the notifications' webUrl names when CAMPAIGN_TEAMS_APP_ID is not set (nothing is installed then).
const TEAMS_APP = 'passkey-campaigns';
let emulator: Emulator | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

interface Setup {
  channel?: 'teams' | 'email';
  /** Targeted admins: 40 → one wave of notices; 100 → more than one wave (4 $batch requests of 20 per wave). */
  admins?: number;
  mutate?: (f: TenantFixture) => void;
}

/** The generated tenant with a sender mailbox user, in the emulator; the admins campaign in progress. */
async function setup(o: Setup = {}) {
  const admins = o.admins ?? 40;
  const fixture = generateTenant({ users: admins + 30, admins, seed: 5, now: NOW });
  fixture.users!.push({ id: 'e1000000-0000-4000-8000-000000000001', userPrincipalName: SENDER, displayName: 'Passkey campaigns', accountEnabled: true, mail: SENDER });
  o.mutate?.(fixture);
  // Pacing waits (Teams 5 a second, email 30 a minute) run on the emulator's clock: no real time.
  const { emulatorClock, ioClock } = sharedClock(NOW);
  emulator = await startEmulator({ tenant: fixture, port: 0, token: 'sim-token', clock: emulatorClock });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-cli-'));
  const file = path.join(tmp, 'admins-passkeys.yaml');
  let yaml = fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8').replace('status: notStarted', 'status: inProgress');
  if (o.channel === 'email') yaml = yaml.replace('channel: teams', `channel: email\n    sender: ${SENDER}`);
  fs.writeFileSync(file, yaml);
  const state = path.join(tmp, 'state');
  const cli = async (cmd: 'reconcile' | 'plan') => {
    const io = captureIo(process.cwd(), process.env, ioClock);
    const code = await run([cmd, '--campaign', file, '--graph-url', emulator!.url, '--state', state, '--now', NOW, '--json'], io);
    return { code, out: io.out(), err: io.err(), json: code === 0 ? (JSON.parse(io.out()) as { warnings: string[]; notifications: number; transitions: Array<{ userId: string }> }) : undefined };
  };
  const events = async (): Promise<LedgerEvent[]> => (await new FileStore({ dir: state }).read('admins-passkeys')).events;
  const outcomes = async () => (await events()).filter((e): e is NotificationOutcomeEvent => e.type === 'notificationOutcome');
  const received = (): SimNotification[] => [...emulator!.state.notifications];
  return { fixture, cli, events, outcomes, received };
}

const upnOf = (f: TenantFixture, id: string) => f.users!.find((u) => u.id === id)!.userPrincipalName;

describe('case 3: an email sender without a mailbox', () => {
  it.each([
    { name: 'a sender that is not in mailboxes', code: 'MailboxNotEnabledForRESTAPI', mutate: (f: TenantFixture) => (f.mailboxes = f.users!.filter((u) => u.userPrincipalName !== SENDER).map((u) => u.userPrincipalName)) },
    { name: 'a sender that does not exist', code: 'ErrorInvalidUser', mutate: (f: TenantFixture) => (f.users = f.users!.filter((u) => u.userPrincipalName !== SENDER)) },
  ])('$name stops the run with exit 2 naming the sender, and no notice counts as delivered', async ({ code, mutate }) => {
    // 28 admins: within one minute's 30 messages, so the CLI (real clock) never waits for the sender's minute.
    const s = await setup({ channel: 'email', admins: 28, mutate });
    const r = await s.cli('reconcile');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^campaign reconcile: email notifications cannot be sent: the sender ${SENDER} has no mailbox \\(sendMail answered 404 ${code} for all \\d+ notifications of this run\\), so nobody was notified\\.\\n  Set spec\\.notifications\\.sender \\(or --sender\\) to an existing Exchange Online mailbox`));
    expect(r.out).toBe('');
    const outcomes = await s.outcomes();
    expect(outcomes.length).toBeGreaterThanOrEqual(20);
    expect(outcomes.filter((e) => e.outcome === 'delivered')).toEqual([]);
    // Not the recipients' failures: recorded as not sent, so a later run (with a working sender) sends them.
    expect(new Set(outcomes.map((e) => `${e.outcome} ${e.status}`))).toEqual(new Set(['notSent 404']));
    expect(s.received()).toEqual([]);
    expect(emulator!.state.tenant.memberIds(SIM_IDS.adminsEnforcedGroup).size).toBe(0);
    const finished = (await s.events()).filter((e) => e.type === 'runFinished');
    expect(finished).toEqual([expect.objectContaining({ ok: false, error: expect.stringContaining(`the sender ${SENDER} has no mailbox`) })]);
  });
});

describe('case 4: one Teams recipient answering 403', () => {
  /** More notices than one wave, with the refused recipient in the first $batch: on the base commit the run exited 2 and the later waves were never sent. */
  it.each([
    {
      name: 'the Teams app is not installed for the recipient (teamsAppInstallations)',
      code: 'Forbidden',
      arrange: (f: TenantFixture, victim: string) => {
        f.teamsApps = [{ id: TEAMS_APP, displayName: 'Passkey campaigns', webApplicationInfoId: 'aaaaaaaa-0000-4000-8000-00000000a991', activityTypes: ['passkeyCampaign'] }];
        f.teamsAppInstallations = Object.fromEntries(f.users!.filter((u) => u.id !== victim).map((u) => [u.id, [TEAMS_APP]]));
      },
    },
    { name: 'a 403 injected for the recipient (notificationFailures)', code: 'Forbidden', fault: 403 },
    { name: 'a 404 injected for the recipient (notificationFailures)', code: 'ResourceNotFound', fault: 404 },
  ])('$name: the run exits 0, that user is failed, every other user is notified', async ({ code, arrange, fault }) => {
    // Who is in the first $batch: plan lists the moves in the order the notices go out.
    const probe = await setup({ admins: 100 });
    const plan = await probe.cli('plan');
    const victim = plan.json!.transitions[0].userId;
    await emulator!.close();
    const s = await setup({ admins: 100, mutate: (f) => arrange?.(f, victim) });
    if (fault) await fetch(`${emulator!.url}/_sim/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ notificationFailures: { [victim]: fault } }) });

    const r = await s.cli('reconcile');
    expect(r.code).toBe(0);
    const events = await s.events();
    const dispatches = events.filter((e): e is NotificationDispatchEvent => e.type === 'notificationDispatch');
    expect(dispatches.length).toBeGreaterThan(4); // more than one wave of 4 × 20
    const outcomes = await s.outcomes();
    const mine = outcomes.filter((e) => e.userId === victim);
    expect(mine).toEqual([expect.objectContaining({ outcome: 'failed', status: fault ?? 403, detail: expect.stringMatching(new RegExp(`^${fault ?? 403} ${code}: `)) })]);
    expect(dispatches[0].keys).toContain(mine[0].key);
    const others = outcomes.filter((e) => e.userId !== victim);
    expect(others.length).toBe(r.json!.notifications);
    expect(others.every((e) => e.outcome === 'delivered')).toBe(true);
    // The last wave went out too, and reached its users.
    const lastKeys = new Set(dispatches.at(-1)!.keys);
    const lastUsers = new Set(others.filter((e) => lastKeys.has(e.key)).map((e) => e.userId));
    expect(lastUsers.size).toBe(lastKeys.size);
    expect(s.received().filter((n) => lastUsers.has(n.userId))).toHaveLength(lastUsers.size);
    expect(s.received().map((n) => n.userId)).not.toContain(victim);
    expect(r.json!.warnings.filter((w) => w.includes(upnOf(s.fixture, victim)))).toEqual([expect.stringMatching(/was not delivered \(40[34] \w+\); recorded as failed\.$/)]);
  });

  it('a 403 from every recipient is the identity\'s permission: exit 2 naming TeamsActivity.Send, after one wave at most', async () => {
    const s = await setup({ admins: 100, mutate: (f) => {
      f.teamsApps = [{ id: TEAMS_APP, activityTypes: ['passkeyCampaign'] }];
      f.teamsAppInstallations = {};
    } });
    const r = await s.cli('reconcile');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^campaign reconcile: Teams notifications cannot be sent: Graph refused all (\d+) notifications of this run with 403 Forbidden, which is the identity's permission TeamsActivity\.Send, not one recipient's\.\n  Grant the identity the Microsoft Graph application permission TeamsActivity\.Send \(with admin consent\) and install the campaign's Teams app/);
    const outcomes = await s.outcomes();
    expect(outcomes.length).toBeLessThanOrEqual(80);
    expect(new Set(outcomes.map((e) => `${e.outcome} ${e.status}`))).toEqual(new Set(['notSent 403']));
    expect(s.received()).toEqual([]);
  });
});

describe('case 6: email to the mailbox', () => {
  it('mails each user at their mail address, not the UPN, and never mails a user without a mailbox', async () => {
    let renamed = '';
    let noMailbox = '';
    const s = await setup({
      channel: 'email',
      admins: 28,
      mutate: (f) => {
        const admins = f.users!.filter((u) => u.userPrincipalName.startsWith('adm.'));
        // A separate admin account: its UPN has no mailbox; the person's mailbox has another address.
        admins[0].mail = `mailbox.${admins[0].userPrincipalName.replace(/^adm\./, '')}`;
        renamed = admins[0].id;
        delete admins[1].mail;
        noMailbox = admins[1].id;
        f.mailboxes = f.users!.filter((u) => u.mail).map((u) => u.id);
      },
    });
    const r = await s.cli('reconcile');
    expect(r.code).toBe(0);
    const user = s.fixture.users!.find((u) => u.id === renamed)!;
    const mails = s.received().filter((n) => n.userId === renamed);
    expect(mails).toHaveLength(1);
    const to = (mails[0].request as { message: { toRecipients: Array<{ emailAddress: { address: string } }> } }).message.toRecipients;
    expect(to).toEqual([{ emailAddress: { address: user.mail } }]);
    expect(mails[0].undeliverable).toBeUndefined();
    // Nothing went to the UPN of the user without a mailbox, and nothing counts as delivered to them.
    expect(s.received().filter((n) => n.userId === noMailbox)).toEqual([]);
    expect((await s.outcomes()).filter((e) => e.userId === noMailbox && e.outcome === 'delivered')).toEqual([]);
    // Every mail that went out reached a mailbox.
    expect(s.received().filter((n) => n.undeliverable)).toEqual([]);
    expect(r.json!.notifications).toBe(s.received().length);
  });
});

describe('warnings summed up per code', () => {
  it('prints 20+ identical notification failures as one line with the count and 3 examples', async () => {
    const s = await setup({ admins: 40 });
    const plan = await s.cli('plan');
    const failing = plan.json!.transitions.slice(0, 24).map((t) => t.userId);
    await fetch(`${emulator!.url}/_sim/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ notificationFailures: Object.fromEntries(failing.map((id) => [id, 403])) }) });
    const r = await s.cli('reconcile');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.json!.warnings.filter((w) => w.includes('not delivered'));
    expect(lines).toHaveLength(1);
    const examples = failing.slice(0, 3).map((id) => `${upnOf(s.fixture, id)} (403 Forbidden)`).join(', ');
    expect(lines[0]).toBe(`24 notifications were not delivered and are recorded as failed (campaign history --user UPN shows each): e.g. ${examples}`);
    expect((await s.outcomes()).filter((e) => e.outcome === 'failed')).toHaveLength(24);
  });
});
