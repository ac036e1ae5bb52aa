// The intent protocol case by case: what the next run does with each kind of unsettled side effect.
import * as fs from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/ledger/events';
import { openIntents } from '../../src/engine/recovery';
import { runCampaign } from '../../src/reconcile/run';
import { CAMPAIGN_KEY_PROPERTY, sentMailLookupRequest } from '../../src/notify/channels';
import { SIM_IDS } from '../../src/sim/generate';
import { FileStore } from '../../src/ledger/file/store';
import type { LedgerStore } from '../../src/ledger/store';
import { assertRecovered, CAMPAIGN, copyLedger, dayIso, inProcess, notificationKey, prepareScenario, SENDER, type InProcess, type Scenario } from './support';

let teams0: Scenario;
let email0: Scenario;
let teams7: Scenario;
let p: InProcess | undefined;

beforeAll(async () => {
  [teams0, email0, teams7] = await Promise.all([prepareScenario('teams', 0), prepareScenario('email', 0), prepareScenario('teams', 7)]);
}, 60_000);

afterEach(async () => {
  await p?.close();
  if (p) fs.rmSync(p.dir, { recursive: true, force: true });
  p = undefined;
});

const outcomes = (events: LedgerEvent[], kind: string) => events.filter((e) => e.type === 'notificationOutcome' && e.outcome === kind);
// Notifications travel in $batch requests of 20: what can be lost is a whole batch's answer.
const isNotificationBatch = (path: string, method: string, body: string) => method === 'POST' && path.endsWith('/$batch') && /\/(sendMail|sendActivityNotification)"/.test(body);
const keysIn = (body: string) => (JSON.parse(body) as { requests: unknown[] }).requests.length;

describe('notifications that got no answer', () => {
  it('email executed but unanswered: the next run finds it in Sent Items and does not send it again', async () => {
    p = await inProcess(email0, copyLedger(email0));
    let dropped = 0;
    p.emulator.state.hooks = { after: ({ method, path, body }) => (isNotificationBatch(path, method, body) && dropped++ < 1 ? ((lost = keysIn(body)), 'drop') : undefined) };
    let lost = 0;
    const first = await p.run(0);
    expect(lost).toBeGreaterThan(0);
    // One line for the whole batch (warnings are summed up per code), one inDoubt outcome per notice.
    expect(first.warnings.filter((w) => w.includes('got no answer'))).toEqual([expect.stringMatching(new RegExp(`^${lost} notifications got no answer and are recorded as in doubt .*: e\\.g\\. `))]);
    const doubt = outcomes(await p.events(), 'inDoubt');
    expect(doubt).toHaveLength(lost);
    p.emulator.state.hooks = {};
    const sentBefore = p.emulator.state.notifications.length;
    const second = await p.run(0);
    expect(second.notifications).toBe(0);
    expect(p.emulator.state.notifications.length).toBe(sentBefore);
    const found = (await p.events()).filter((e) => e.type === 'notificationOutcome' && e.recovered === 'sentItems');
    expect(found.map((e) => (e as { key: string }).key).sort()).toEqual(doubt.map((e) => (e as { key: string }).key).sort());
    await assertRecovered(email0, p.emulator, p.dir, 'email executed');
  });

  it('email that never reached Graph: the next run does not find it in Sent Items and sends it once', async () => {
    p = await inProcess(email0, copyLedger(email0));
    let dropped = 0;
    let lost = 0;
    p.emulator.state.hooks = { before: ({ method, path, body }) => (isNotificationBatch(path, method, body) && dropped++ < 1 ? ((lost = keysIn(body)), 'drop') : undefined) };
    await p.run(0);
    expect(lost).toBeGreaterThan(0);
    p.emulator.state.hooks = {};
    const second = await p.run(0);
    expect(second.notifications).toBe(lost);
    expect((await p.events()).filter((e) => e.type === 'notificationOutcome' && e.recovered === 'resent' && e.outcome === 'delivered')).toHaveLength(lost);
    await assertRecovered(email0, p.emulator, p.dir, 'email lost');
  });

  it('Teams without an answer: recorded in doubt and never sent again (at most once)', async () => {
    p = await inProcess(teams0, copyLedger(teams0));
    let dropped = 0;
    let lost = 0;
    p.emulator.state.hooks = { before: ({ method, path, body }) => (isNotificationBatch(path, method, body) && dropped++ < 1 ? ((lost = keysIn(body)), 'drop') : undefined) };
    const first = await p.run(0);
    expect(lost).toBeGreaterThan(0);
    expect(first.warnings.filter((w) => /recorded as in doubt/.test(w))).toEqual([expect.stringMatching(new RegExp(`^${lost} notifications got no answer and are recorded as in doubt`))]);
    expect(outcomes(await p.events(), 'inDoubt')).toHaveLength(lost);
    p.emulator.state.hooks = {};
    const second = await p.run(0);
    expect(second.notifications).toBe(0);
    expect(p.emulator.state.notifications).toHaveLength(teams0.reference.delivered.length - lost);
    await assertRecovered(teams0, p.emulator, p.dir, 'teams in doubt');
  });
});

/** A store whose n-th append "crashes" the run before it writes (as a kill at that point would). */
function crashingStore(dir: string, at: number): LedgerStore {
  const inner = new FileStore({ dir });
  let n = 0;
  return Object.assign(Object.create(inner) as FileStore, {
    append: async (c: string, events: Parameters<FileStore['append']>[1]) => {
      if (++n >= at) throw new Error('simulated crash'); // and every write after it: the process is gone
      return inner.append(c, events);
    },
    acquireLock: async (c: string, o: Parameters<FileStore['acquireLock']>[1]) => {
      const lock = await inner.acquireLock(c, o);
      return { ...lock, warnings: lock.warnings, release: async () => lock.release() };
    },
  });
}

describe('group adds of an interrupted run', () => {
  it('re-drives the add when the user is still due, so nobody is lost', async () => {
    p = await inProcess(teams7, copyLedger(teams7));
    const now = new Date(dayIso(7));
    p.clock.set(now);
    // Append 1: intents; the adds run; append 2 (decisions) never happens.
    await expect(runCampaign({ campaign: teams7.campaign, graph: p.graph, store: crashingStore(p.dir, 2), now, apply: true })).rejects.toThrow('simulated crash');
    expect(openIntents(await p.events()).groupAdds.length).toBe(teams7.reference.result.groupAdds);
    await p.run(7);
    await assertRecovered(teams7, p.emulator, p.dir, 'group add re-driven');
  });

  it('undoes the add when the user lost the passkey before the next run: never in the group without one', async () => {
    p = await inProcess(teams7, copyLedger(teams7));
    const now = new Date(dayIso(7));
    p.clock.set(now);
    await expect(runCampaign({ campaign: teams7.campaign, graph: p.graph, store: crashingStore(p.dir, 2), now, apply: true })).rejects.toThrow('simulated crash');
    const added = openIntents(await p.events()).groupAdds[0]!;
    expect(p.emulator.state.tenant.isMember(SIM_IDS.adminsEnforcedGroup, added.userId)).toBe(true);
    const methods = p.emulator.state.tenant.fido2Methods(added.userId).map((m) => m.id);
    await fetch(`${p.emulator.url}/_sim/tenant`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ userRegistrationDetails: [{ id: added.userId, methodsRegistered: ['password'] }], remove: { fido2Methods: { [added.userId]: methods } } }) });
    const r = await p.run(7);
    expect(r.warnings).toContain(`${added.userPrincipalName} was added to passkey-campaign-${CAMPAIGN}-enforced by an interrupted run but is no longer due for enforcement; the add was undone.`);
    expect(p.emulator.state.tenant.isMember(SIM_IDS.adminsEnforcedGroup, added.userId)).toBe(false);
    const state = (await p.events()).filter((e) => 'userId' in e && e.userId === added.userId).map((e) => e.type);
    expect(state).toContain('groupAddOutcome');
    expect(r.transitions.find((t) => t.userId === added.userId)?.reason).toBe('PasskeyLost');
    expect(openIntents(await p.events())).toMatchObject({ interruptedRuns: [], groupAdds: [], notifications: [] });
  });
});

describe('plan with open intents', () => {
  it('says what the next reconcile settles first and writes nothing', async () => {
    p = await inProcess(teams7, copyLedger(teams7));
    const now = new Date(dayIso(7));
    p.clock.set(now);
    await expect(runCampaign({ campaign: teams7.campaign, graph: p.graph, store: crashingStore(p.dir, 2), now, apply: true })).rejects.toThrow('simulated crash');
    const before = fs.readFileSync(`${p.dir}/${CAMPAIGN}/ledger.jsonl`, 'utf8');
    const writes = p.emulator.state.requests().writes;
    const plan = await p.run(7, { apply: false });
    expect(plan.warnings).toContain(`the ledger has 1 interrupted run, ${teams7.reference.result.groupAdds} unconfirmed group adds; the next reconcile settles them before acting.`);
    expect(fs.readFileSync(`${p.dir}/${CAMPAIGN}/ledger.jsonl`, 'utf8')).toBe(before);
    expect(p.emulator.state.requests().writes).toBe(writes);
  });
});

describe('the emulator answers the Sent Items lookup as Graph does', () => {
  it('finds a sent mail by the key property and nothing for another key; other filters are refused', async () => {
    p = await inProcess(email0, copyLedger(email0));
    await p.run(0);
    const key = notificationKey(p.emulator.state.notifications[0]!);
    const get = async (url: string) => fetch(`${p!.emulator.url}/v1.0${url}`, { headers: { Authorization: 'Bearer sim-token' } });
    const hit = await (await get(sentMailLookupRequest(SENDER, key, '1').url)).json() as { value: unknown[] };
    expect(hit.value).toHaveLength(1);
    expect(hit.value[0]).toEqual({ '@odata.etag': expect.any(String), id: expect.any(String), sentDateTime: expect.any(String) });
    expect(((await (await get(sentMailLookupRequest(SENDER, `${key}x`, '1').url)).json()) as { value: unknown[] }).value).toEqual([]);
    const all = await (await get(`/users/${SENDER}/mailFolders/SentItems/messages?$top=999`)).json() as { value: Array<Record<string, unknown>> };
    expect(all.value.length).toBe(email0.reference.delivered.length);
    expect(all.value[0].singleValueExtendedProperties).toBeUndefined();
    const bad = await get(`/users/${SENDER}/mailFolders/sentitems/messages?$filter=${encodeURIComponent(`subject eq 'x'`)}`);
    expect(bad.status).toBe(400);
    expect(CAMPAIGN_KEY_PROPERTY).toMatch(/^String \{[0-9a-f-]{36}\} Name PasskeyCampaignKey$/);
  });
});
