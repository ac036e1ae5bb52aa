// A client that gives up on a request does not stop Graph from executing it. The emulator behaves the same
// way and says when it has finished everything, so a test can rerun the way a real rerun a day later would:
// after those requests are done, not while they still run (the cause of a duplicate-notification flake).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, TOKEN, type Harness } from './harness';
import { U, tinyTenant } from './tiny-tenant';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ tenant: tinyTenant(), faults: { throttle: false, latencyMs: 2000 } });
});
afterEach(() => h.close());

describe('EmulatorState.idle()', () => {
  it('resolves at once when nothing runs', async () => {
    await expect(h.emu.state.idle()).resolves.toBeUndefined();
  });

  it('waits for a request whose client gave up, which still executes', async () => {
    const abort = new AbortController();
    const sent = fetch(`${h.emu.url}/v1.0/users/${U.adele}/teamwork/sendActivityNotification`, {
      method: 'POST',
      signal: abort.signal,
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ topic: { source: 'text', value: 'x', webUrl: 'https://example.com' }, activityType: 'passkeyCampaign', previewText: { content: 'x' } }),
    }).catch((e: unknown) => e);
    // Wait until the emulator has the request (idle() no longer resolves at once), then give up during its latency.
    const busy = async () => (await Promise.race([h.emu.state.idle().then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 1))]));
    for (let i = 0; i < 2000 && !(await busy()); i++);
    // The small body arrives with the headers; the wait only makes sure it was read before the client leaves.
    await new Promise((r) => setTimeout(r, 500));
    abort.abort();
    expect(await sent).toBeInstanceOf(Error);
    expect(h.emu.state.notifications).toHaveLength(0);
    await h.emu.state.idle();
    expect(h.emu.state.notifications.map((n) => n.userId)).toEqual([U.adele]);
  });
});
