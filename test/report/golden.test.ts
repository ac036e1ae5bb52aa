import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLedger, loadReport, renderMarkdown, writeHistoryExport } from '../../src/report/index';
import { ledgerBytes } from '../../src/report/history';
import { buildDemoLedger, type DemoLedger } from './demo-ledger';
import { expectGolden } from './golden';

// A small campaign keeps the golden files reviewable: 14 admins over 30 days; one enforced user loses
// every passkey on the last day, so the last run has something to report.
let tmp: string;
let demo: DemoLedger;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-golden-'));
  const t0 = Date.now();
  demo = await buildDemoLedger({ dir: path.join(tmp, 'state'), admins: 14, days: 30, seed: 3, passkeyLossDay: 29 });
  console.log(`golden ledger built in ${Date.now() - t0} ms`);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('golden output of a deterministic demo ledger', () => {
  it('renders the status Markdown summary as committed', async () => {
    const report = await loadReport({ campaign: demo.campaign, store: demo.store, now: demo.lastRunAt });
    expectGolden('status.md', renderMarkdown(report));
  });

  it('writes the history export as committed', async () => {
    const { events } = await loadLedger(demo.store, 'admins-passkeys');
    const files = await writeHistoryExport(path.join(tmp, 'export'), 'admins-passkeys', events, ledgerBytes(demo.store, 'admins-passkeys'));
    expectGolden('history/admins-passkeys/history.md', fs.readFileSync(files.markdown, 'utf8'));
    expectGolden('history/admins-passkeys/events.jsonl', fs.readFileSync(files.jsonl, 'utf8'));
  });

  it('writes a byte-identical export for the same ledger, and events.jsonl equals the ledger file', async () => {
    const { events } = await loadLedger(demo.store, 'admins-passkeys');
    const a = await writeHistoryExport(path.join(tmp, 'a'), 'admins-passkeys', events, ledgerBytes(demo.store, 'admins-passkeys'));
    const b = await writeHistoryExport(path.join(tmp, 'b'), 'admins-passkeys', events, ledgerBytes(demo.store, 'admins-passkeys'));
    // Compared as latin1 strings: byte for byte, without toEqual walking a Buffer.
    const read = (f: string) => fs.readFileSync(f, 'latin1');
    expect(read(a.markdown)).toBe(read(b.markdown));
    expect(read(a.jsonl)).toBe(read(b.jsonl));
    expect(read(a.jsonl)).toBe(read(demo.store.ledgerFile('admins-passkeys')));
  });
});
