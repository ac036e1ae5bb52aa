// The Sent Items look-up after a crash needs Mail.Read on the sender mailbox. Whatever it answers, an email that
// an interrupted run dispatched ends delivered (found) or sent again (not found), never assumed delivered: a
// look-up refused for want of the permission marks nothing delivered, sends nothing again, and says what to grant.
import * as fs from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openIntents } from '../../src/engine/recovery';
import { Graph, type BatchRequest, type BatchResponse } from '../../src/graph/client';
import type { LedgerEvent } from '../../src/ledger/events';
import { copyLedger, inProcess, prepareScenario, SENDER, type InProcess, type Scenario } from './support';

let email0: Scenario;
let p: InProcess | undefined;

beforeAll(async () => {
  email0 = await prepareScenario('email', 0);
}, 60_000);

afterEach(async () => {
  await p?.close();
  if (p) fs.rmSync(p.dir, { recursive: true, force: true });
  p = undefined;
});

/** A client whose identity lacks Mail.Read: the mailbox answers every Sent Items read 403, as Exchange does. */
class WithoutMailRead extends Graph {
  override async batch(requests: readonly BatchRequest[], opts: { retryTransport?: boolean } = {}): Promise<Map<string, BatchResponse>> {
    if (!requests.every((r) => r.method === 'GET' && /\/mailFolders\/sentitems\/messages/i.test(r.url))) return super.batch(requests, opts);
    return new Map(requests.map((r) => [r.id, { id: r.id, status: 403, headers: {}, body: { error: { code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.' } } }]));
  }
}

const isMailBatch = (path: string, method: string, body: string) => method === 'POST' && path.endsWith('/$batch') && /\/sendMail"/.test(body);
const outcomesOf = (events: LedgerEvent[], keys: Set<string>) => events.filter((e) => e.type === 'notificationOutcome' && keys.has(e.key));

describe('an email dispatched by a run that got no answer', () => {
  it('stays open while the look-up is refused for want of Mail.Read (warning names it), then is found and delivered', async () => {
    p = await inProcess(email0, copyLedger(email0));
    let dropped = 0;
    p.emulator.state.hooks = { after: ({ method, path, body }) => (isMailBatch(path, method, body) && dropped++ < 1 ? 'drop' : undefined) };
    await p.run(0);
    p.emulator.state.hooks = {};
    const doubt = new Set((await p.events()).flatMap((e) => (e.type === 'notificationOutcome' && e.outcome === 'inDoubt' ? [e.key] : [])));
    expect(doubt.size).toBeGreaterThan(0);
    const mailsBefore = p.emulator.state.notifications.length;

    const refused = await p.run(0, { graph: new WithoutMailRead({ graphUrl: p.emulator.url, sleep: async (ms) => p!.clock.advance(ms), now: () => p!.clock.now() }) });
    expect(refused.warnings.join('\n')).toMatch(/could not be looked up in the sender's Sent Items/);
    expect(refused.warnings.join('\n')).toContain(`the identity lacks Mail.Read on the sender mailbox ${SENDER}`);
    const events = await p.events();
    // Not known delivered: no delivered outcome, nothing sent again, still open.
    expect(outcomesOf(events, doubt).filter((e) => e.type === 'notificationOutcome' && e.outcome === 'delivered')).toEqual([]);
    expect(p.emulator.state.notifications.length).toBe(mailsBefore);
    expect(openIntents(events).notifications.map((n) => n.sent.key).sort()).toEqual([...doubt].sort());

    // With the permission, the next run finds each one: delivered, recovered from Sent Items, never sent twice.
    await p.run(0);
    const settled = outcomesOf(await p.events(), doubt).filter((e) => e.type === 'notificationOutcome' && e.outcome === 'delivered');
    expect(settled.map((e) => e.type === 'notificationOutcome' && e.recovered)).toEqual([...doubt].map(() => 'sentItems'));
    expect(p.emulator.state.notifications.length).toBe(mailsBefore);
  });
});
