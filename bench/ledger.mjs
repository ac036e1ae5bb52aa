#!/usr/bin/env node
// `node bench/ledger.mjs [USERS] [DAYS]`: how the ledger grows and what reading it costs, for a long campaign.
// Writes a synthetic ledger (default 1,000,000 users over 60 daily runs, the event mix of bench/report.mjs:
// entries, notices, reminders, dispatch and outcome records, grace exceeded, postponements, group adds), streamed
// to disk day by day through the ledger codec, plus the last observation. Then times:
//   - the full fold (every event decoded and folded, in pieces so it fits in memory),
//   - writing the checkpoint a run leaves, and a run's read of checkpoint + one more day of events,
//   - the report checkpoint a run leaves for `campaign status` (with the observation reduced for status): written the
//     first time (every event decoded), then brought up to date by the next run (checkpoint + the day's events),
//   - `campaign status` and `status --json` as whole processes (reading the report checkpoint), and `status --json`
//     with the report checkpoint moved aside (the whole ledger read), its output compared.
// BENCH_KEEP=DIR keeps the files; BENCH_REUSE=1 with it times only the report checkpoint's update and status again.
// Prints figures, asserts nothing. Run `npm run build` first.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const dist = (p) => require(path.join(ROOT, 'dist', p));
const DAY = 86_400_000;
const START = Date.parse('2026-12-01T06:00:00.000Z');
const CAMPAIGN = 'admins-passkeys';
const STAGE_GRACE = { deviceUpdate: 14, passkeyRegistration: 14 };
const NOTICE_DAYS = 7;
const GROUP = 'a1100000-0000-4000-8000-000000000004';

function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const id = (i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const upn = (i) => `user.${String(i).padStart(7, '0')}@contoso.com`;

/** The people of the synthetic campaign: when each acts (bench/report.mjs's mix). */
function people(users, rnd) {
  const out = new Array(users);
  for (let i = 0; i < users; i++) {
    const r = rnd();
    const start = r < 0.15 ? 'deviceUpdate' : r < 0.6 ? 'passkeyRegistration' : 'enforcementNotice';
    const act = () => (rnd() < 0.12 ? Infinity : Math.floor(rnd() < 0.6 ? 1 + rnd() * 4 : 5 + rnd() * 15));
    out[i] = { i, stage: null, since: 0, start, deviceDay: act(), passkeyDay: act(), postponeDay: rnd() < 0.1 ? 1 + Math.floor(rnd() * 5) : -1, exceeded: false, notified: 0, ext: 0, outOfScope: rnd() < 0.002 };
  }
  return out;
}

/** One day's run: calls `emit` with the events in ledger order (as report.mjs writes them). */
function runDay(day, ps, emit) {
  const at = new Date(START + day * DAY).toISOString();
  const runId = `bench-day-${String(day + 1).padStart(3, '0')}`;
  emit({ v: 1, at, type: 'runStarted', runId, campaign: CAMPAIGN, status: 'inProgress', intents: 1 });
  const counts = { deviceUpdate: 0, passkeyRegistration: 0, enforcementNotice: 0, enforced: 0, exceededGrace: 0 };
  let notifications = 0, groupAdds = 0;
  let batch = [];
  const flush = () => {
    if (!batch.length) return;
    emit({ v: 1, at, type: 'notificationDispatch', runId, channel: 'teams', keys: batch.map((n) => n.key) });
    for (const n of batch) emit({ v: 1, at, runId, type: 'notificationOutcome', userId: n.userId, userPrincipalName: n.userPrincipalName, key: n.key, channel: 'teams', outcome: 'delivered', status: 201 });
    batch = [];
  };
  for (const p of ps) {
    const ev = (type, rest) => {
      const e = { v: 1, type, at, runId, userId: id(p.i), userPrincipalName: upn(p.i), ...rest };
      emit(e);
      return e;
    };
    const notice = (rest) => {
      batch.push(ev('notificationSent', rest));
      notifications++;
      if (batch.length === 20) flush();
    };
    const enter = (to, reason) => {
      ev('userEnteredStage', { from: p.stage, to, reason, message: reason.replace(/([A-Z])/g, ' $1').trim().toLowerCase() });
      p.stage = to; p.since = day; p.exceeded = false; p.notified = 1; p.ext = 0;
      notice({ key: `${CAMPAIGN}:${id(p.i)}:${to}:1`, kind: to, stage: to, sequence: 1 });
    };
    if (p.outOfScope) {
      if (day === 0) ev('alertRaised', { kind: 'OutsideFido2PolicyScope', message: 'not in scope of the FIDO2 (passkey) authentication method policy' });
      continue;
    }
    if (p.stage === null) enter(p.start, p.start === 'deviceUpdate' ? 'DeviceBelowMinimumOs' : p.start === 'passkeyRegistration' ? 'NoPasskeyRegistered' : 'ReadyForEnforcement');
    else if (p.stage === 'deviceUpdate' && day >= p.deviceDay) enter('passkeyRegistration', 'DevicesUpdated');
    else if (p.stage === 'passkeyRegistration' && day >= p.since + Math.min(p.passkeyDay, 1e9)) enter('enforcementNotice', 'PasskeyRegistered');
    else if (p.stage === 'enforcementNotice' && day >= p.since + NOTICE_DAYS + p.ext) {
      ev('groupAddIntent', { groupId: GROUP });
      ev('groupAddOutcome', { groupId: GROUP, outcome: 'added' });
      ev('addedToGroup', {});
      groupAdds++;
      enter('enforced', 'NoticePeriodElapsed');
    } else if (p.stage in STAGE_GRACE) {
      const deadline = p.since + STAGE_GRACE[p.stage] + p.ext;
      if (day >= deadline && !p.exceeded) {
        p.exceeded = true;
        ev('graceExceeded', { stage: p.stage, deadline: new Date(START - 6 * 3_600_000 + deadline * DAY).toISOString() });
      } else if (!p.exceeded && (day - p.since) % 3 === 0) {
        p.notified++;
        notice({ key: `${CAMPAIGN}:${id(p.i)}:${p.stage}Reminder:${p.notified}`, kind: `${p.stage}Reminder`, stage: p.stage, sequence: p.notified });
      }
    }
    if (p.stage) counts[p.stage]++;
    if (p.exceeded) counts.exceededGrace++;
  }
  flush();
  emit({ v: 1, at, type: 'runFinished', runId, ok: true, counts: { targeted: ps.length, ...counts, notifications, groupAdds } });
  const later = new Date(START + day * DAY + 3 * 3_600_000).toISOString();
  for (const p of ps) {
    if (p.postponeDay !== day || (p.stage !== 'deviceUpdate' && p.stage !== 'passkeyRegistration') || p.exceeded) continue;
    p.ext += 3;
    emit({ v: 1, type: 'postponed', at: later, userId: id(p.i), userPrincipalName: upn(p.i), stage: p.stage, until: new Date(Date.parse(later) + 3 * DAY).toISOString(), count: 1, days: 3 });
  }
}

/** Appends the days [from, to) to `file` through the codec, 20,000 events per write. */
function writeDays(file, ps, from, to, encodeBatch) {
  const fd = fs.openSync(file, 'a');
  let events = 0;
  try {
    let pending = [];
    const put = () => {
      fs.writeSync(fd, encodeBatch(pending));
      pending = [];
    };
    for (let day = from; day < to; day++) {
      runDay(day, ps, (e) => {
        pending.push(e);
        events++;
        if (pending.length === 20_000) put();
      });
    }
    put();
  } finally {
    fs.closeSync(fd);
  }
  return events;
}

function observationOf(ps, day) {
  const recent = new Date(START + (day - 2) * DAY).toISOString();
  return {
    v: 1, campaign: CAMPAIGN, at: new Date(START + day * DAY).toISOString(),
    fido2Policy: { state: 'enabled', isSelfServiceRegistrationAllowed: true, keyRestrictions: { isEnforced: false, enforcementType: 'block', aaGuids: [] } },
    users: ps.map((p) => ({
      userId: id(p.i), userPrincipalName: upn(p.i), displayName: `User ${p.i}`, accountEnabled: true,
      devices: [{ id: `d1-${p.i}`, displayName: `LAPTOP-${p.i}`, operatingSystem: 'Windows', operatingSystemVersion: p.stage === 'deviceUpdate' ? '10.0.17763.6659' : '10.0.22631.4602', approximateLastSignInDateTime: recent, accountEnabled: true }],
      methodsRegistered: p.stage === 'enforcementNotice' || p.stage === 'enforced' ? ['microsoftAuthenticatorPush', 'passKeyDeviceBoundAuthenticator'] : ['microsoftAuthenticatorPush'],
      fido2Methods: null, inFido2PolicyScope: !p.outOfScope, inEnforcementGroup: p.stage === 'enforced', readErrors: [],
    })),
    excluded: [], readErrors: [],
  };
}

/**
 * BENCH_REUSE=1 with BENCH_KEEP=DIR of an earlier run: the ledger and observation left there; the report checkpoint
 * brought up to date as the next run would (from the one there when it matches, else from every event), then the
 * status processes.
 */
async function reuse(tmp, store, file, users, updateReportCheckpoint, observed) {
  if (!process.env.BENCH_KEEP || !fs.existsSync(file)) throw new Error('BENCH_REUSE needs BENCH_KEEP=DIR of an earlier run with its ledger');
  console.log(`  reused: ${gb(fs.statSync(file).size)} of ledger at ${file}, observation snapshot ${gb(fs.statSync(store.snapshotFile(CAMPAIGN, 'observation')).size)}`);
  const observation = await store.readSnapshot(CAMPAIGN, 'observation');
  const t0 = process.hrtime.bigint();
  const left = await updateReportCheckpoint(store, CAMPAIGN, observed(observation));
  console.log(`  report checkpoint brought up to date by the next run in ${sec(ms(t0))}${left.length ? ` (${left.join(' ')})` : ' (from the one there)'}: ${gb(reportCheckpointBytes(tmp))} (${(reportCheckpointBytes(tmp) / users).toFixed(0)} bytes per user; RSS ${rssMiB()})`);
  await statusRuns(tmp);
}

const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/** `campaign status ARGS` as a whole process in `tmp`: wall time, peak RSS (with /usr/bin/time), exit, stdout. */
function statusProcess(tmp, args) {
  const argv = [process.execPath, '--max-old-space-size=8192', path.join(ROOT, 'bin', 'campaign'), 'status', '--campaign', CAMPAIGN, '--state', 'state', ...args];
  const t0 = process.hrtime.bigint();
  const r = TIME
    ? spawnSync(TIME, ['-f', '\n%M %U %S', ...argv], { cwd: tmp, encoding: 'utf8', maxBuffer: 2 ** 31 - 1 })
    : spawnSync(argv[0], argv.slice(1), { cwd: tmp, encoding: 'utf8', maxBuffer: 2 ** 31 - 1 });
  const wall = ms(t0);
  let usage = '';
  if (TIME) {
    const lines = r.stderr.trimEnd().split('\n');
    const [kb, user, sys] = lines.pop().split(' ').map(Number);
    r.stderr = lines.join('\n');
    usage = `, CPU ${(user + sys).toFixed(1)} s, peak RSS ${Math.round(kb / 1024)} MiB`;
  }
  const err = r.status ? `: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(0, 2).join(' ')}` : '';
  return { line: `${sec(wall)}${usage}, exit ${r.status}${err}`, out: r.stdout };
}

/**
 * `campaign status` and `status --json` as whole processes, reading the report checkpoint; then `status --json`
 * with the report checkpoint moved aside (the whole ledger read, as before it existed) and whether it printed the same.
 */
async function statusRuns(tmp) {
  const campaignDir = path.join(tmp, 'campaigns');
  fs.mkdirSync(campaignDir, { recursive: true });
  fs.writeFileSync(path.join(campaignDir, `${CAMPAIGN}.yaml`), fs.readFileSync(path.join(ROOT, 'campaigns', `${CAMPAIGN}.yaml`), 'utf8').replace(/^  status: notStarted$/m, '  status: inProgress'));
  let json = null;
  for (const args of [[], ['--json']]) {
    const r = statusProcess(tmp, args);
    if (args.length) json = r.out;
    console.log(`  campaign status ${[...args, ''].join(' ')}(whole process, report checkpoint): ${r.line}`);
  }
  const snaps = path.join(tmp, 'state', CAMPAIGN, 'snapshots');
  const aside = path.join(tmp, 'report-checkpoint-aside');
  fs.mkdirSync(aside, { recursive: true });
  const files = fs.readdirSync(snaps).filter((f) => f.startsWith('report-checkpoint'));
  for (const f of files) fs.renameSync(path.join(snaps, f), path.join(aside, f));
  try {
    const r = statusProcess(tmp, ['--json']);
    console.log(`  campaign status --json (whole process, report checkpoint moved aside: the whole ledger read): ${r.line}; same output as with the checkpoint: ${r.out === json ? 'yes' : 'NO'} (${(Buffer.byteLength(json ?? '') / 1e6).toFixed(0)} MB)`);
  } finally {
    for (const f of files) fs.renameSync(path.join(aside, f), path.join(snaps, f));
  }
}

/** Bytes of the report checkpoint's snapshots. */
function reportCheckpointBytes(tmp) {
  const dir = path.join(tmp, 'state', CAMPAIGN, 'snapshots');
  return fs.readdirSync(dir).filter((f) => f.startsWith('report-checkpoint')).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
}

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const sec = (t) => `${(t / 1000).toFixed(1)} s`;
const gb = (b) => `${(b / 1e9).toFixed(2)} GB`;
const rssMiB = () => `${Math.round(process.memoryUsage().rss / 1048576)} MiB`;

async function main() {
  const users = Number(process.argv[2] ?? 1_000_000);
  const days = Number(process.argv[3] ?? 60);
  const keep = process.env.BENCH_KEEP;
  const { encodeBatch, decodeLedgerBytes } = dist('ledger/codec.js');
  const { FileStore } = dist('ledger/file/store.js');
  const { foldLedger, applyEvents } = dist('engine/state.js');
  const { readRunLedger, writeCheckpoint } = dist('reconcile/checkpoint.js');
  const { updateReportCheckpoint } = dist('report/report-checkpoint.js');
  const { loadCampaignFile } = dist('campaign/load.js');
  const campaignFile = path.join(ROOT, 'campaigns', `${CAMPAIGN}.yaml`);
  const campaign = loadCampaignFile(path.relative(process.cwd(), campaignFile)).campaign;
  campaign.spec.status = 'inProgress';
  // What a run hands the report checkpoint: the campaign and the observation it wrote.
  const observed = (observation) => ({ campaign, observation });
  const tmp = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ledger-'));
  const store = new FileStore({ dir: path.join(tmp, 'state') });
  const file = store.ledgerFile(CAMPAIGN);
  console.log(`ledger bench: ${users.toLocaleString('en-US')} users, ${days} daily runs, ${os.cpus().length} cores (${os.cpus()[0].model.trim()}), Node ${process.version}, ${new Date().toISOString()}`);
  try {
    if (process.env.BENCH_REUSE) {
      await reuse(tmp, store, file, users, updateReportCheckpoint, observed);
      return;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.rmSync(file, { force: true });
    const ps = people(users, prng(1));
    let t0 = process.hrtime.bigint();
    const events = writeDays(file, ps, 0, days, encodeBatch);
    const bytes = fs.statSync(file).size;
    console.log(`  built: ${events.toLocaleString('en-US')} events, ${gb(bytes)} in ${sec(ms(t0))}; ${(bytes / users / days).toFixed(0)} bytes of ledger per user per campaign day (${(bytes / events).toFixed(0)} bytes per event)`);
    const observation = observationOf(ps, days - 1);
    await store.writeSnapshot(CAMPAIGN, 'observation', observation);
    console.log(`  observation snapshot: ${gb(fs.statSync(store.snapshotFile(CAMPAIGN, 'observation')).size)}`);

    // In a function, so the folded state is garbage before the checkpoint is read back.
    await (async () => {
      // The full fold, as a run without a checkpoint does it, in 64 MiB pieces (all events at once would not fit).
      t0 = process.hrtime.bigint();
      const state = foldLedger([]);
      const carry = [];
      const fh = await fs.promises.open(file, 'r');
      let mark;
      try {
        // As readTail (src/ledger/tail.ts) reads, but each piece folded and dropped: same decoder, same fold.
        const piece = Buffer.allocUnsafe(64 * 1024 * 1024);
        let pos = 0, rest = Buffer.alloc(0), n = 0;
        const hash = (await import('node:crypto')).createHash('sha256');
        for (;;) {
          const { bytesRead } = await fh.read(piece, 0, piece.length, pos);
          if (bytesRead === 0) break;
          pos += bytesRead;
          const chunk = rest.length ? Buffer.concat([rest, piece.subarray(0, bytesRead)]) : piece.subarray(0, bytesRead);
          const complete = chunk.lastIndexOf(0x0a) + 1;
          const read = decodeLedgerBytes(chunk.subarray(0, complete), file, n);
          applyEvents(state, read.events);
          for (const e of read.events) if (e.type === 'runStarted' || e.type === 'runFinished') carry.push(e);
          n += read.events.length;
          hash.update(chunk.subarray(0, complete));
          rest = Buffer.from(chunk.subarray(complete));
        }
        mark = { events: n, bytes: pos - rest.length, sha256: hash.digest('hex') };
      } finally {
        await fh.close();
      }
      const tFold = ms(t0);
      console.log(`  full fold: ${mark.events.toLocaleString('en-US')} events decoded and folded in ${sec(tFold)} (${Object.keys(state.users).length.toLocaleString('en-US')} users in the state; RSS ${rssMiB()})`);

      t0 = process.hrtime.bigint();
      await writeCheckpoint(store, CAMPAIGN, mark, state, carry);
      const cpDir = path.join(tmp, 'state', CAMPAIGN, 'snapshots');
      const cpBytes = fs.readdirSync(cpDir).filter((f) => f.startsWith('checkpoint')).reduce((s, f) => s + fs.statSync(path.join(cpDir, f)).size, 0);
      console.log(`  checkpoint written in ${sec(ms(t0))}: ${gb(cpBytes)} (${(cpBytes / users).toFixed(0)} bytes per user)`);
    })();

    // The report checkpoint, the first time: from the whole ledger (the store's overview read).
    t0 = process.hrtime.bigint();
    await updateReportCheckpoint(store, CAMPAIGN, observed(observation));
    console.log(`  report checkpoint written the first time (every event decoded) in ${sec(ms(t0))}: ${gb(reportCheckpointBytes(tmp))} (${(reportCheckpointBytes(tmp) / users).toFixed(0)} bytes per user; RSS ${rssMiB()})`);

    // A steady-state run's read: one more day appended after the checkpoint.
    const more = writeDays(file, ps, days, days + 1, encodeBatch);
    t0 = process.hrtime.bigint();
    const read = await readRunLedger(store, CAMPAIGN);
    const tRead = ms(t0);
    console.log(`  run's read with the checkpoint: ${sec(tRead)} (checkpoint used: ${read.fromCheckpoint}; ${read.events.length.toLocaleString('en-US')} events decoded or carried, ${more.toLocaleString('en-US')} of them written after the checkpoint; ${read.total.toLocaleString('en-US')} in the ledger; RSS ${rssMiB()})`);

    // The next run brings the report checkpoint up to date: the checkpoint read, the day's events folded, written again.
    t0 = process.hrtime.bigint();
    await updateReportCheckpoint(store, CAMPAIGN, observed(observation));
    console.log(`  report checkpoint brought up to date by the next run (checkpoint + ${more.toLocaleString('en-US')} events) in ${sec(ms(t0))} (RSS ${rssMiB()})`);

    await statusRuns(tmp);
  } finally {
    if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
