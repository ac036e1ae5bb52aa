// What the ledger as a run reads it (readRunLedger: the folded state and the carried events) holds per user,
// measured: the heap still in use after a full collection, for a ledger of 50,000 users folded from its bytes and
// for the same users read back from a checkpoint. Every user entered a stage and was sent two notices, the last
// still open (so its events are carried), as at a large tenant after its first runs; then a run settles them all.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/ledger/events';
import { FileStore } from '../../src/ledger/file/store';
import { readRunLedger, writeCheckpoint } from '../../src/reconcile/checkpoint';
import { deliverySnapshot } from '../../src/engine/state';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const USERS = 50_000;
/** The bounds per user (see the figures in the commits that set them). */
const MAX_BYTES_PER_USER = 600;
const MAX_SETTLED_BYTES_PER_USER = 400;
const MAX_SNAPSHOT_BYTES_PER_USER = 120;
const CAMPAIGN = 'all-staff-passkeys';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'state-memory-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A run recording the outcomes of the previous run's notices (all delivered): none stays open. */
function settle(day: number): LedgerEvent[] {
  const at = new Date(Date.UTC(2026, 11, 1 + day, 6)).toISOString();
  const runId = `run-${day}`;
  const out: LedgerEvent[] = [{ v: 1, at, type: 'runStarted', runId, campaign: CAMPAIGN, status: 'inProgress', intents: 1 }];
  for (let i = 0; i < USERS; i++) {
    const userId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const key = `${CAMPAIGN}:${userId}:passkeyRegistrationReminder:${day - 1}`;
    out.push({ v: 1, at, runId, userId, userPrincipalName: `user.${i}@contoso.onmicrosoft.com`, type: 'notificationOutcome', key, channel: 'teams', outcome: 'delivered' });
  }
  out.push({ v: 1, at, type: 'runFinished', runId, ok: true });
  return out;
}

function run(day: number): LedgerEvent[] {
  const at = new Date(Date.UTC(2026, 11, 1 + day, 6)).toISOString();
  const runId = `run-${day}`;
  const out: LedgerEvent[] = [{ v: 1, at, type: 'runStarted', runId, campaign: CAMPAIGN, status: 'inProgress', intents: 1 }];
  for (let i = 0; i < USERS; i++) {
    const userId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const userPrincipalName = `user.${i}@contoso.onmicrosoft.com`;
    const who = { v: 1 as const, at, runId, userId, userPrincipalName };
    if (day === 0) out.push({ ...who, type: 'userEnteredStage', from: null, to: 'passkeyRegistration', reason: 'NoPasskey', message: 'm' });
    const kind = day === 0 ? 'passkeyRegistration' : 'passkeyRegistrationReminder';
    const key = `${CAMPAIGN}:${userId}:${kind}:${day || 1}`;
    out.push({ ...who, type: 'notificationSent', key, kind, stage: 'passkeyRegistration', sequence: day || 1, channel: 'teams' });
    // The last run's notices are still open: the checkpoint carries their events (the next run settles them).
    if (day === 0) out.push({ ...who, type: 'notificationOutcome', key, channel: 'teams', outcome: 'delivered' });
    if (i % 50 === 0) out.push({ ...who, type: 'alertRaised', kind: 'AccountDisabled', message: 'm' });
  }
  out.push({ v: 1, at, type: 'runFinished', runId, ok: true });
  return out;
}

/** The heap the ledger as a run reads it holds per user (the folded state and the carried events), measured. */
async function bytesPerUser(fromCheckpoint: boolean, open = USERS): Promise<number> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const read = await readRunLedger(store, CAMPAIGN);
  gc();
  const after = process.memoryUsage().heapUsed;
  expect(read.fromCheckpoint).toBe(fromCheckpoint);
  expect(Object.keys(read.state.users)).toHaveLength(USERS);
  // Every user's last notice is carried: it is still open.
  expect(read.events.filter((e) => e.type === 'notificationSent')).toHaveLength(open);
  return (after - before) / USERS;
}

const store = new FileStore({ dir: tmp });

describe('the ledger as a run reads it, per user', () => {
  it(`holds at most ${MAX_BYTES_PER_USER} bytes a user folded from the ledger's bytes`, async () => {
    for (let day = 0; day < 2; day++) await store.append(CAMPAIGN, run(day));
    const perUser = await bytesPerUser(false);
    expect(perUser).toBeLessThan(MAX_BYTES_PER_USER);
  }, 120_000);

  it(`holds at most ${MAX_BYTES_PER_USER} bytes a user read back from a checkpoint`, async () => {
    {
      const r = await readRunLedger(store, CAMPAIGN);
      await writeCheckpoint(store, CAMPAIGN, r.end!, r.state, r.events);
    }
    const perUser = await bytesPerUser(true);
    expect(perUser).toBeLessThan(MAX_BYTES_PER_USER);
  }, 120_000);

  it(`holds at most ${MAX_SETTLED_BYTES_PER_USER} bytes a user once their notices are settled, read back from a checkpoint`, async () => {
    await store.append(CAMPAIGN, settle(2));
    {
      const r = await readRunLedger(store, CAMPAIGN);
      await writeCheckpoint(store, CAMPAIGN, r.end!, r.state, r.events);
    }
    // The folded state alone: no notice is open, so no user's events are carried.
    const perUser = await bytesPerUser(true, 0);
    expect(perUser).toBeLessThan(MAX_SETTLED_BYTES_PER_USER);
  }, 120_000);

  it(`builds the delivery snapshot in at most ${MAX_SNAPSHOT_BYTES_PER_USER} bytes a user (no key string of its own for each)`, async () => {
    const { state } = await readRunLedger(store, CAMPAIGN);
    gc();
    const before = process.memoryUsage().heapUsed;
    const snapshot = deliverySnapshot(state, '2026-12-04T06:00:00.000Z');
    gc();
    const perUser = (process.memoryUsage().heapUsed - before) / USERS;
    expect(Object.keys(snapshot.users)).toHaveLength(USERS);
    expect(perUser).toBeLessThan(MAX_SNAPSHOT_BYTES_PER_USER);
  }, 120_000);
});
