#!/usr/bin/env node
// Times the pure engine on a synthetic 100,000-user tenant: decide on day 0 (everyone new), the ledger
// fold, and decide mid-campaign. Needs the build (`npx tsc -p tsconfig.build.json`). Prints, never asserts.
// Median of 3 runs. Env: BENCH_USERS (default 100000), BENCH_RUNS, BENCH_VERBOSE=1 (every run),
// BENCH_DAY0_ONLY=1 (just the first figure), BENCH_OUTCOMES=1 (notices get delivered outcomes, as in a real ledger).
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const engine = require(path.join(here, '..', 'dist', 'engine', 'index.js'));
const { decide, decisionsToEvents, foldLedger, applyEvents, emptyState, estimateEnd } = engine;

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const NOW = Date.parse('2026-12-01T06:00:00Z');
const DAY = 86_400_000;
const at = (d) => new Date(NOW + d * DAY).toISOString();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Deterministic PRNG (mulberry32) so every run benches the same tenant.
let seed = 0x5eed;
function rnd() {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const campaign = {
  apiVersion: 'passkeys/v1', kind: 'PasskeyCampaign',
  metadata: { name: 'bench-passkeys', description: '', owners: [] },
  spec: {
    status: 'inProgress',
    targets: { roles: [], includeEligible: true, groups: [], users: [] },
    exclusions: { breakGlass: ['bg@contoso.com'], users: [], groups: [], acknowledgeNoBreakGlass: false },
    devices: { activeWithinDays: 365, minimumOs: { Windows: '10.0.18362', macOS: '13.0', iOS: '17.0', Android: '14.0' } },
    stages: { deviceUpdate: { gracePeriodDays: 14, reminderEveryDays: 3 }, passkeyRegistration: { gracePeriodDays: 14, reminderEveryDays: 3 }, enforcement: { noticeDays: 7 } },
    postponement: { enabled: true, days: 3, maxTimes: 2 },
    notifications: { channel: 'teams', registrationUrl: 'https://aka.ms/mysecurityinfo' },
    enforcement: { policyState: 'reportOnly', maxNewPerRun: 50 },
  },
};

const OS = [
  ['Windows', () => (rnd() < 0.1 ? '10.0.17763.5122' : '10.0.22631.4169')],
  ['IPhone', () => (rnd() < 0.15 ? '16.7.2' : '17.4.1 (21E236)')],
  ['MacMDM', () => (rnd() < 0.1 ? '12.6' : '14.4')],
  ['AndroidForWork', () => (rnd() < 0.2 ? '13' : '14.0')],
  ['Linux', () => '6.5'],
];

// Each user is drawn once from their own seed; each day only adoption grows (more passkeys, updated devices).
const PASSKEY = { methodsRegistered: ['microsoftAuthenticatorPush', 'passKeyDeviceBoundAuthenticator'], fido2Methods: [{ id: 'f', aaGuid: 'de1e552d-db1d-4423-a619-566b625cdc84', model: 'Microsoft Authenticator' }] };
const NO_PASSKEY = { methodsRegistered: ['microsoftAuthenticatorPush'], fido2Methods: [] };
function makeUser(i) {
  seed = 0x5eed + i * 7919;
  const devices = [];
  const n = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < n; k++) {
    const [os, ver] = OS[Math.floor(rnd() * OS.length)];
    devices.push({
      device: {
        id: `d-${i}-${k}`, displayName: `DEVICE-${i}-${k}`, operatingSystem: os, operatingSystemVersion: ver(),
        approximateLastSignInDateTime: rnd() < 0.1 ? null : at(-Math.floor(rnd() * 500)), accountEnabled: rnd() > 0.02,
      },
      updatedOnDay: Math.floor(rnd() * 15),
    });
  }
  return {
    devices,
    passkeyOnDay: rnd() < 0.3 ? 0 : 1 + Math.floor(rnd() * 30),
    readErrorDay: rnd() < 0.05 ? Math.floor(rnd() * 12) : -1,
    base: {
      userId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      userPrincipalName: `admin${i}@contoso.com`,
      displayName: `Admin ${i}`,
      accountEnabled: true,
      inFido2PolicyScope: rnd() > 0.01,
    },
  };
}
const T0 = Date.now();
const phase = (name) => process.env.BENCH_VERBOSE && console.error(`${name} at ${Date.now() - T0} ms`);
const TENANT = Array.from({ length: USERS }, (_, i) => makeUser(i));
phase('tenant');

function observation(day, enforced) {
  // Literal objects rather than spreads, which are slow enough to dominate the bench's run time.
  const users = TENANT.map((t) => {
    const b = t.base;
    const pk = day >= t.passkeyOnDay ? PASSKEY : NO_PASSKEY;
    return {
      userId: b.userId, userPrincipalName: b.userPrincipalName, displayName: b.displayName, accountEnabled: b.accountEnabled,
      devices: t.devices.map(({ device: d, updatedOnDay }) => (day >= updatedOnDay
        ? { id: d.id, displayName: d.displayName, operatingSystem: d.operatingSystem, operatingSystemVersion: '99.0',
            approximateLastSignInDateTime: d.approximateLastSignInDateTime, accountEnabled: d.accountEnabled }
        : d)),
      methodsRegistered: pk.methodsRegistered, fido2Methods: pk.fido2Methods,
      inFido2PolicyScope: b.inFido2PolicyScope,
      inEnforcementGroup: enforced.has(b.userId),
      readErrors: t.readErrorDay === day ? ['GET /devices: 503'] : [],
    };
  });
  return {
    v: 1, campaign: 'bench-passkeys', at: at(day),
    fido2Policy: { state: 'enabled', isSelfServiceRegistrationAllowed: true, keyRestrictions: { isEnforced: false, enforcementType: 'block', aaGuids: [] } },
    users, excluded: [], readErrors: [],
  };
}

function time(fn, runs = 3) {
  const ms = [];
  globalThis.gc?.();
  let out;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    out = fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (process.env.BENCH_VERBOSE) console.error(ms.map((x) => x.toFixed(0)).join(' '));
  return { ms: median(ms), out };
}

// Day 0: everyone enters. Then days 1..10 are applied so the ledger looks like a running campaign.
const enforced = new Set();
const obs0 = observation(0, enforced);
const d0 = time(() => decide(campaign, obs0, emptyState(), at(0)), Number(process.env.BENCH_RUNS ?? 3));
if (process.env.BENCH_DAY0_ONLY) { console.log(`decide ${USERS} users (day 0, all new): ${d0.ms.toFixed(0)} ms`); process.exit(0); }
const ledger = [];
const state = emptyState();
let decisions = d0.out;
// BENCH_OUTCOMES=1: the ledger a real run writes: runStarted with intents, and a delivered outcome per notice.
const OUTCOMES = !!process.env.BENCH_OUTCOMES;
for (let day = 0; day <= 10; day++) {
  if (day > 0) decisions = decide(campaign, observation(day, enforced), state, at(day));
  const runId = `run-${day}`;
  const evs = decisionsToEvents(decisions, { runId, now: at(day) });
  if (OUTCOMES) {
    evs.unshift({ v: 1, type: 'runStarted', at: at(day), runId, campaign: campaign.metadata.name, status: 'inProgress', intents: 1 });
    for (const d of decisions) {
      if (d.type === 'notify') evs.push({ v: 1, type: 'notificationOutcome', at: at(day), runId, userId: d.userId, userPrincipalName: d.userPrincipalName, key: d.key, channel: 'teams', outcome: 'delivered' });
    }
  }
  for (const e of evs) ledger.push(e);
  for (const d of decisions) if (d.type === 'addToGroup') enforced.add(d.userId);
  applyEvents(state, evs);
  phase(`day ${day}`);
}
const obs11 = observation(11, enforced);
phase('observation 11');
const fold = time(() => foldLedger(ledger));
const mid = time(() => decide(campaign, obs11, fold.out, at(11)));
const lines = ledger.map((e) => JSON.stringify(e));
const json = time(() => foldLedger(lines.map((l) => JSON.parse(l))));
phase('timed');
const est = time(() => estimateEnd(campaign, obs11, fold.out, at(11)), 1);

console.log(`decide ${USERS} users (day 0, all new): ${d0.ms.toFixed(0)} ms (${d0.out.length} decisions)`);
console.log(`foldLedger ${ledger.length} events: ${fold.ms.toFixed(0)} ms`);
console.log(`decide ${USERS} users (day 11, mid-campaign): ${mid.ms.toFixed(0)} ms (${mid.out.length} decisions)`);
console.log(`foldLedger ${ledger.length} events parsed from JSON lines: ${json.ms.toFixed(0)} ms`);
console.log(`estimateEnd ${USERS} users: ${est.ms.toFixed(0)} ms (${est.out})`);
