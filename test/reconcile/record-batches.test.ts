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

  async function ledgerBytes(size: number, channel?: 'none'): Promise<{ bytes: Buffer; appends: number; outcomesOnly: number }> {
    recording.batch = size;
    const campaign = adminCampaign();
    if (channel) campaign.spec.notifications.channel = channel;
    const h = await harness({ admins: 40, seed: 7, campaign });
    open.push(h);
    let appends = 0;
    let outcomesOnly = 0;
    const append = h.store.append.bind(h.store);
    h.store.append = async (campaign, events) => {
      appends++;
      if (events.length && events.every((e) => e.type === 'notificationOutcome')) outcomesOnly++;
      return append(campaign, events);
    };
    for (const day of [0, 1, 15]) {
      const now = new Date(START.getTime() + day * DAY);
      h.clock.set(now);
      await runCampaign({ campaign: h.campaign, graph: h.graph, store: h.store, now, apply: true, runId: `run-${day}` });
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

  it('records the outcomes of many open notices a batch at a time too, with the same bytes (notifications off: each later run cancels every notice the first recorded)', async () => {
    const one = await ledgerBytes(1_000_000, 'none');
    const small = await ledgerBytes(3, 'none');
    expect(small.outcomesOnly).toBeGreaterThan(one.outcomesOnly + 1);
    expect(small.bytes.length).toBeGreaterThan(0);
    expect(small.bytes.equals(one.bytes)).toBe(true);
  });
});
