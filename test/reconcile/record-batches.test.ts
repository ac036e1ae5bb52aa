// act records a run's decisions a batch of users at a time (a first run at a large tenant decides for everyone):
// the ledger has the same lines, byte for byte, whatever the batch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recording } from '../../src/act';
import { runCampaign } from '../../src/reconcile/run';
import { adminCampaign, DAY, harness, START, type Harness } from './harness';

describe('decisions recorded in batches', () => {
  const open: Harness[] = [];
  const batch = recording.batch;
  afterEach(async () => {
    recording.batch = batch;
    for (const h of open.splice(0)) await h.close();
  });

  /**
   * The ledger after runs on days 0, 1 and 15. `interrupted`: the day-0 run stops before it sends anything (so every
   * notice it recorded stays open), and notifications are off from day 1 (so that run cancels every one of them).
   */
  async function ledgerBytes(size: number, channel?: 'none', interrupted = false): Promise<{ bytes: Buffer; appends: number; outcomesOnly: number }> {
    recording.batch = size;
    const campaign = adminCampaign();
    if (channel && !interrupted) campaign.spec.notifications.channel = channel;
    const h = await harness({ admins: 40, seed: 7, campaign });
    open.push(h);
    let appends = 0;
    let outcomesOnly = 0;
    const append = h.store.append.bind(h.store);
    let stopBeforeSending = interrupted;
    h.store.append = async (campaign, events) => {
      if (stopBeforeSending && events.some((e) => e.type === 'notificationDispatch')) throw new Error('stopped before sending');
      appends++;
      if (events.length && events.every((e) => e.type === 'notificationOutcome')) outcomesOnly++;
      return append(campaign, events);
    };
    for (const day of [0, 1, 15]) {
      const now = new Date(START.getTime() + day * DAY);
      h.clock.set(now);
      const run = runCampaign({ campaign: h.campaign, graph: h.graph, store: h.store, now, apply: true, runId: `run-${day}` });
      if (stopBeforeSending) {
        await expect(run).rejects.toThrow('stopped before sending');
        stopBeforeSending = false;
        h.campaign.spec.notifications.channel = 'none';
      } else {
        await run;
      }
    }
    return { bytes: fs.readFileSync(path.join(h.dir, h.campaign.metadata.name, 'ledger.jsonl')), appends, outcomesOnly };
  }

  it('gives the same ledger bytes with one batch as with a batch of three decisions', async () => {
    const one = await ledgerBytes(1_000_000);
    const small = await ledgerBytes(3);
    expect(small.appends).toBeGreaterThan(one.appends);
    expect(small.bytes.length).toBeGreaterThan(0);
    expect(small.bytes.equals(one.bytes)).toBe(true);
  });

  it('records the outcomes of many open notices a batch at a time too, with the same bytes (a run stopped before sending, then notifications turned off: the next run cancels every notice it recorded)', async () => {
    const one = await ledgerBytes(1_000_000, 'none', true);
    const small = await ledgerBytes(3, 'none', true);
    expect(small.outcomesOnly).toBeGreaterThan(one.outcomesOnly + 1);
    expect(small.bytes.length).toBeGreaterThan(0);
    expect(small.bytes.equals(one.bytes)).toBe(true);
  });

  it('with notifications off, settles each notice as it records it: cancelled in the same append, nothing left open for the next run', async () => {
    recording.batch = 3;
    const { bytes, outcomesOnly } = await ledgerBytes(3, 'none');
    const events = bytes.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; runId?: string; key?: string; outcome?: string; detail?: string });
    const sent = events.filter((e) => e.type === 'notificationSent');
    expect(sent.length).toBeGreaterThan(3);
    for (const e of sent) {
      const outcomes = events.filter((o) => o.type === 'notificationOutcome' && o.key === e.key);
      expect(outcomes).toHaveLength(1);
      expect(outcomes[0]).toMatchObject({ runId: e.runId, outcome: 'cancelled', detail: 'notifications are off (channel none)' });
      // On the line after its notice.
      expect(events.indexOf(outcomes[0])).toBe(events.indexOf(e) + 1);
    }
    expect(outcomesOnly).toBe(0);
  });
});
