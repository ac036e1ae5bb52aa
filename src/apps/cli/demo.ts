// `campaign demo [--days D] [--users N]`: the README's main job. No Azure account needed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { campaignIdentity } from '../../campaign/identity';
import { loadCampaignFile } from '../../campaign/load';
import { estimateEnd, outlook, stuckUsers } from '../../engine/estimate';
import { foldLedger } from '../../engine/state';
import type { Observation } from '../../engine/types';
import { UsageError } from '../../errors';
import { FileStore } from '../../ledger/file/store';
import { SNAPSHOTS } from '../../ledger/store';
import { SIM_APP } from '../../sim/generate';
import { intFlag, parseFlags, stringFlag } from './args';
import { println, type Io } from './io';
import { atPath, atPathSync, type PathUse } from './path-errors';

export const HELP = `Usage: campaign demo [--days D] [--users N] [--seed S] [--start ISO] [--state DIR] [--campaign FILE]

Runs a whole passkey campaign against a simulated tenant, with no Azure account:
generates a tenant with N admins (default 500; plus regular staff and two break-glass accounts) in the built-in
Microsoft Graph emulator, starts the example admin campaign (campaigns/admins-passkeys.yaml, run with graduated
enforcement and onboarding passes mailed to managers from the campaign mailbox; or --campaign FILE, run as written), runs one reconcile per
simulated day for D days (default 60) while simulated users act on their notifications (some update devices or
register passkeys at once, some late, some postpone, some never; a user with no method that satisfies MFA cannot
register one alone) and sign in every day (with their passkey once they have one; a few from old mail clients that
cannot use one), prints a line of stage counts per day, and ends with the overview and the impact report of the
report-only policy (campaign impact), recorded for the dashboard. With onboarding, the job mails a Temporary Access
Pass for each user who cannot register alone to their manager; the manager passes it on, the user signs in with
it and registers a passkey; the overview says how many passes were issued and used.
It takes under a minute on an idle machine and prints how long it took.

  --seed S         tenant and user behaviour seed (default 7): the same seed gives the same campaign
  --start ISO      first run (default: today, 06:00 UTC)
  --state DIR      where the demo ledger goes (default .campaign-demo/; replaced on every demo run)
  --campaign FILE  the campaign to run instead of the example; the simulated tenant's users to target are
                   admins, so it should target admin roles`;

const MARKER = '.campaign-demo';

function prepareStateDir(dir: string): void {
  if (fs.existsSync(dir)) {
    const entries = fs.readdirSync(dir);
    if (entries.length && !entries.includes(MARKER)) {
      throw new UsageError(`--state ${dir} already holds files that are not from a demo; refusing to replace them.`, 'Pick an empty or new directory.');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, MARKER), 'created by campaign demo; the whole directory is replaced by the next demo run\n');
}

const pad = (n: number, w = 4) => String(n).padStart(w);

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseFlags('demo', argv, { days: { type: 'string' }, users: { type: 'string' }, seed: { type: 'string' }, start: { type: 'string' }, state: { type: 'string' }, campaign: { type: 'string' } });
  if (p.values.help) {
    println(io.stdout, HELP);
    return 0;
  }
  const days = intFlag(p, 'days', 60, 1);
  const users = intFlag(p, 'users', 500, 20);
  const seed = intFlag(p, 'seed', 7, 0);
  if (days > 3650) throw new UsageError('--days must be at most 3650.');
  if (users > 200_000) throw new UsageError('--users must be at most 200000.');
  const startFlag = stringFlag(p, 'start');
  const today = new Date();
  const start = startFlag ? new Date(startFlag) : new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), 6));
  if (Number.isNaN(start.getTime())) throw new UsageError(`--start must be an ISO date such as 2026-12-01T06:00:00Z (got "${startFlag}").`);
  const stateDir = path.resolve(io.cwd, stringFlag(p, 'state') ?? '.campaign-demo');
  const stateDirUse: PathUse = { subject: `--state ${stringFlag(p, 'state') ?? '.campaign-demo'}`, path: stateDir, expects: 'a directory for the demo (it is created if missing)' };
  atPathSync(stateDirUse, () => prepareStateDir(stateDir));

  const campaignFlag = stringFlag(p, 'campaign');
  const file = campaignFlag === undefined ? path.resolve(__dirname, '..', '..', '..', 'campaigns', 'admins-passkeys.yaml') : path.resolve(io.cwd, campaignFlag);
  if (!fs.existsSync(file)) throw new UsageError(`${campaignFlag === undefined ? 'the example campaign ' : '--campaign '}${file}: no such file.`, 'Pass a campaign file with --campaign FILE.');
  const loaded = loadCampaignFile(file);
  if (!loaded.campaign) throw new UsageError(`${file} is invalid; run campaign validate.`);
  const campaign = loaded.campaign;
  campaign.spec.status = 'inProgress';
  // The example runs with graduated enforcement, so the demo shows the whole way to an enforced policy: users whose
  // own sign-ins qualify move to the enabled policy's group. A campaign given with --campaign runs as written.
  if (campaignFlag === undefined) campaign.spec.enforcement.mode = 'graduated';
  // The example also onboards the users who cannot register a passkey on their own (no method that satisfies MFA):
  // a Temporary Access Pass mailed to their manager, who passes it on.
  // The mail to the manager comes from the simulated tenant's campaign mailbox.
  if (campaignFlag === undefined) {
    campaign.spec.onboarding.temporaryAccessPass = { ...campaign.spec.onboarding.temporaryAccessPass, enabled: true, deliverTo: 'manager' };
    campaign.spec.notifications.sender ??= `${SIM_APP.sender}@contoso.com`;
  }
  const onboarding = campaign.spec.onboarding.temporaryAccessPass.enabled && campaign.spec.onboarding.temporaryAccessPass.deliverTo === 'manager';
  const graduatedMode = campaign.spec.enforcement.mode === 'graduated';
  const store = new FileStore({ dir: stateDir });

  println(io.stdout, `Demo: ${users} admins in a simulated tenant, campaign ${campaign.metadata.name} (${campaign.metadata.description}), ${days} days from ${start.toISOString().slice(0, 10)}.`);
  if (onboarding) println(io.stdout, `      Onboarding: users who cannot register a passkey on their own get a Temporary Access Pass mailed to their manager (at most ${campaign.spec.onboarding.temporaryAccessPass.maxPerRun} a day).`);
  if (graduatedMode) println(io.stdout, `      Graduated enforcement: an enforced user moves to the enabled policy once their own sign-ins over ${campaign.spec.enforcement.enableWhen.observedDays} days show a passkey and nothing the report-only policy would block.`);
  println(io.stdout, `      day  date        device  passkey  notice  enforced${graduatedMode ? '  graduated' : ''}  exceeded  | notified  added  postponed`);
  const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  const { runDemo } = await import('../demo/demo.js');
  const started = Date.now();
  const result = await atPath(stateDirUse, () => runDemo({
    campaign,
    store,
    users,
    days,
    seed,
    start,
    // Recorded in every runStarted: the file's SHA-256 and, when it is committed unchanged in a git checkout, its commit.
    source: campaignIdentity(file, loaded.bytes!),
    onDay: (day, at, r, acted) => {
      if (tty) (io.stderr as NodeJS.WriteStream).write('\r\x1b[K');
      const c = r.counts;
      println(io.stdout, `      ${pad(day + 1, 3)}  ${at.toISOString().slice(0, 10)}  ${pad(c.deviceUpdate, 6)}  ${pad(c.passkeyRegistration, 7)}  ${pad(c.enforcementNotice, 6)}  ${pad(c.enforced, 8)}${graduatedMode ? `  ${pad(c.graduated, 9)}` : ''}  ${pad(c.exceededGrace, 8)}  | ${pad(r.notifications, 8)}  ${pad(r.groupAdds, 5)}  ${pad(acted.postponed, 9)}`);
      if (tty) {
        const width = 30;
        const done = Math.round(((day + 1) / days) * width);
        (io.stderr as NodeJS.WriteStream).write(`[${'#'.repeat(done)}${'.'.repeat(width - done)}] day ${day + 1}/${days}`);
      }
    },
  }));
  if (tty) (io.stderr as NodeJS.WriteStream).write('\r\x1b[K');

  const last = result.runs[result.runs.length - 1];
  const state = foldLedger((await store.read(campaign.metadata.name)).events);
  const observation = (await store.readSnapshot<Observation>(campaign.metadata.name, SNAPSHOTS.observation))!;
  const nowIso = last.now;
  const c = last.counts;
  println(io.stdout);
  println(io.stdout, `Overview after ${days} days (${((Date.now() - started) / 1000).toFixed(1)} s):`);
  println(io.stdout, `  targeted ${c.targeted}, excluded ${c.excluded} (break-glass and exclusions), enforced ${c.enforced + c.graduated}${graduatedMode ? ` (${c.enforced} under the report-only policy, ${c.graduated} graduated to the enabled policy)` : ''}, in enforcement notice ${c.enforcementNotice}, registering a passkey ${c.passkeyRegistration}, updating devices ${c.deviceUpdate}, exceeded grace ${c.exceededGrace}`);
  println(io.stdout, `  simulated users: ${result.behaviours.prompt} acted promptly, ${result.behaviours.late} late, ${result.behaviours.postpones} postponed first, ${result.behaviours.ignores} ignored every notice`);
  if (onboarding) println(io.stdout, `  onboarding passes (Temporary Access Pass, mailed to the manager): ${result.onboarding.issued} issued, ${result.onboarding.used} used to sign in and register a passkey`);
  println(io.stdout, `  Graph: ${result.graphRequests} requests over ${days} runs (${result.throttled} throttled)`);
  const end = estimateEnd(campaign, observation, state, nowIso);
  const stuck = stuckUsers(campaign, state).users;
  const earliest = end !== null && stuck > 0 ? ` at the earliest, if the ${stuck} user${stuck === 1 ? '' : 's'} past a grace period act${stuck === 1 ? 's' : ''} today` : '';
  println(io.stdout, `  estimated end: ${end === null ? 'all targeted users are enforced' : `${end}${earliest}`}`);
  println(io.stdout, `Outlook:`);
  for (const line of outlook(campaign, observation, state, nowIso)) println(io.stdout, `  ${line}`);
  if ('report' in result.impact) {
    const r = result.impact.report;
    const w = campaign.spec.enforcement.enableWhen;
    println(io.stdout, `Impact of the report-only policy over the last ${r.days} days (campaign impact):`);
    println(io.stdout, `  ${r.members} users in the enforcement group, ${r.users.observed} observed: ${r.users.satisfied} signed in with a passkey, ${r.users.interrupted} would have been interrupted, ${r.users.wouldBlock} would have been blocked; ${r.users.noPasskeySignIn} with no passkey sign-in`);
    const legacy = r.wouldBlock.filter((u) => u.legacy).length;
    if (r.users.wouldBlock > 0) println(io.stdout, `  would be blocked: ${r.wouldBlock.slice(0, 3).map((u) => `${u.userPrincipalName} (${u.clientApps.join(', ')})`).join(', ')}${r.wouldBlock.length > 3 ? `, … ${r.wouldBlock.length - 3} more` : ''}${legacy ? `; ${legacy} on legacy clients that cannot use a passkey` : ''}`);
    println(io.stdout, `  gate (at most ${w.maxWouldBlockUsersPercent}% would-block users over ${w.observedDays} days): ${r.gate.met ? 'met' : 'not met'}: ${r.gate.message}`);
  } else {
    println(io.stdout, `Impact: not measured (${result.impact.skipped})`);
  }
  const { writeDashboard } = await import('../../report/index.js');
  const dashboard = await atPath(stateDirUse, () => writeDashboard({ campaign, store, file: path.join(stateDir, `${campaign.metadata.name}.html`) }));
  println(io.stdout);
  println(io.stdout, `Ledger:    ${path.relative(io.cwd, path.join(stateDir, campaign.metadata.name, 'ledger.jsonl'))}`);
  println(io.stdout, `Dashboard: ${path.relative(io.cwd, dashboard)}  (open it in a browser; it works offline)`);
  return 0;
}
