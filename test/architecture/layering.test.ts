// The architecture in one place: which module may import which. The test reads every import of src/
// and of the policy pack and fails on one that runs against this table (docs/architecture.md draws it).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkEdges, importsOf, moduleOf, modulePath, repositoryEdges, sourceFiles, type AllowedTable, type Edge, type Rules } from './imports';

const ROOT = path.join(__dirname, '..', '..');

// Libraries every entry point may use.
const LIBRARIES = ['contracts', 'errors', 'campaign', 'ledger', 'engine', 'graph', 'observe', 'notify', 'act', 'reconcile', 'report', 'doctor'];

/** Module (directory or single file under src/, longest match wins) → the path prefixes under src/ it may import. */
const ALLOWED: AllowedTable = {
  contracts: [],
  errors: [],
  campaign: ['contracts', 'errors'],
  ledger: ['contracts', 'errors'],
  engine: ['contracts', 'campaign/types', 'ledger/events', 'errors'],
  graph: ['errors'],
  // impact/signins: graduated campaigns read the sign-in logs the way `campaign impact` does.
  observe: ['graph', 'engine', 'campaign', 'contracts', 'errors', 'impact/signins'],
  notify: ['campaign', 'graph', 'contracts', 'errors'],
  act: ['graph', 'notify', 'ledger', 'engine', 'campaign', 'contracts', 'errors'],
  // report/report-checkpoint: a successful run leaves the report's checkpoint for `campaign status`;
  // report/report-observation: the run keeps of its observation only what that checkpoint keeps, once it is staged.
  reconcile: ['observe', 'act', 'engine', 'ledger', 'graph', 'notify', 'campaign', 'contracts', 'errors', 'report/report-checkpoint', 'report/report-observation'],
  report: ['ledger', 'engine', 'campaign', 'contracts', 'errors', 'reconcile/result'],
  // Read-only: Graph through GraphReader and observe, the ledger for its identity and lock probe; never act or the stack.
  doctor: ['observe', 'engine', 'graph', 'ledger', 'campaign', 'contracts', 'errors'],
  // Read-only like doctor: sign-in logs, the campaign's policy and group members through GraphReader.
  impact: ['graph', 'observe', 'campaign', 'contracts', 'errors', 'report/markdown'],
  // `campaign verify`: reads the ledger's bytes, its checkpoint mark and an audit export; runs git, never writes.
  audit: ['ledger', 'reconcile/checkpoint', 'report/history', 'contracts', 'errors'],
  sim: ['contracts', 'errors'],
  stack: ['contracts', 'campaign', 'errors'],
  'apps/cli': [...LIBRARIES, 'audit', 'impact', 'sim', 'apps/demo', 'apps/functions'],
  'apps/functions': [...LIBRARIES],
  'apps/demo': [...LIBRARIES, 'impact', 'sim', 'apps/cli'],
  policies: ['contracts', 'campaign', 'stack/graph-roles'],
};

const RULES: Rules = {
  allowed: ALLOWED,
  // The engine decides from data alone: no file system, network, clock or crypto. No node: module is pure enough today.
  pure: { engine: [] },
  apps: 'apps',
};

/** A violation as one line: the file alone when the file itself is outside the table. */
const key = (v: { file: string; specifier: string }) => (v.specifier ? `${v.file} -> ${v.specifier}` : v.file);
const edges = repositoryEdges(ROOT, ['src', 'policies']);

describe('layering', () => {
  it('finds the imports of src/ and the policy pack, dynamic ones included', () => {
    expect(edges.length).toBeGreaterThan(200);
    expect(edges).toContainEqual({ file: 'src/apps/cli/main.ts', specifier: './validate.js' });
    expect(edges).toContainEqual({ file: 'policies/guardrails.ts', specifier: '../src/stack/graph-roles' });
  });

  it('every source file belongs to a module of the table', () => {
    const unmapped = sourceFiles(ROOT, ['src', 'policies']).filter((f) => moduleOf(modulePath(f)!, ALLOWED) === null);
    expect(unmapped).toEqual([]);
  });

  it('has no import that runs against the table', () => {
    const found = checkEdges(edges, RULES);
    expect(found.map((v) => `${key(v)}: ${v.rule}`)).toEqual([]);
  });

  // The write-capable client is `Graph`; everything that only reads takes `GraphReader`, so a write can only
  // come from act/ (and the entry points and run.ts, which construct or hand over the client).
  it('lets only act/, reconcile/run.ts and the entry points hold the write-capable Graph client', () => {
    const holders = sourceFiles(ROOT, ['src'])
      .filter((f) => !f.startsWith('src/graph/'))
      .filter((f) => /import[^;]*\bGraph\b[^;]*from '[./]*graph\/client'/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
    const allowed = (f: string) => f.startsWith('src/act/') || f.startsWith('src/apps/') || f === 'src/reconcile/run.ts';
    expect(holders.filter((f) => !allowed(f))).toEqual([]);
    expect(holders).toContain('src/act/notifications.ts');
  });

  it('keeps the policy pack free of Pulumi program code', () => {
    const fromPack = edges.filter((e) => e.file.startsWith('policies/') && e.specifier.includes('/src/stack/'));
    for (const e of fromPack) {
      const target = path.posix.join(path.posix.dirname(e.file), `${e.specifier}.ts`);
      expect({ target, imports: importsOf(fs.readFileSync(path.join(ROOT, target), 'utf8')).filter((s) => s.startsWith('@pulumi/')) }).toEqual({ target, imports: [] });
    }
  });
});

describe('the layering check', () => {
  const reported = (edge: Edge) => checkEdges([edge], RULES);

  it.each([
    [{ file: 'src/engine/decide.ts', specifier: '../reconcile/run' }, 'engine may import contracts, campaign/types, ledger/events, errors; not reconcile/run'],
    [{ file: 'src/engine/targets.ts', specifier: '../observe/snapshot' }, 'engine may import contracts, campaign/types, ledger/events, errors; not observe/snapshot'],
    [{ file: 'src/engine/decide.ts', specifier: '../campaign/load' }, 'engine may import contracts, campaign/types, ledger/events, errors; not campaign/load'],
    [{ file: 'src/report/model.ts', specifier: '../reconcile/run' }, 'report may import ledger, engine, campaign, contracts, errors, reconcile/result; not reconcile/run'],
    [{ file: 'src/stack/campaigns.ts', specifier: '../apps/cli/validate' }, 'only apps/* imports apps/* (stack → apps/cli)'],
    [{ file: 'src/sim/server.ts', specifier: '../apps/demo/demo' }, 'only apps/* imports apps/* (sim → apps/demo)'],
    [{ file: 'src/apps/functions/main.ts', specifier: '../../stack/index' }, 'apps/functions may import contracts, errors, campaign, ledger, engine, graph, observe, notify, act, reconcile, report, doctor; not stack/index'],
    [{ file: 'src/apps/functions/scheduled.ts', specifier: '../../sim/server' }, 'apps/functions may import contracts, errors, campaign, ledger, engine, graph, observe, notify, act, reconcile, report, doctor; not sim/server'],
    [{ file: 'src/contracts/names.ts', specifier: '../errors' }, 'contracts may import nothing; not errors'],
    [{ file: 'policies/guardrails.ts', specifier: '../src/stack/passkey-campaign' }, 'policies may import contracts, campaign, stack/graph-roles; not stack/passkey-campaign'],
    [{ file: 'src/engine/readiness.ts', specifier: 'node:fs' }, 'engine is pure: no node: module'],
    [{ file: 'src/engine/readiness.ts', specifier: 'crypto' }, 'engine is pure: no node: module'],
    [{ file: 'src/graph/client.ts', specifier: '../../package.json' }, 'imports a file outside src/ and policies/'],
  ])('reports %o', (edge, rule) => {
    expect(reported(edge)).toEqual([{ ...edge, rule }]);
  });

  it.each([
    { file: 'src/reconcile/run.ts', specifier: '../engine/decide' },
    { file: 'src/engine/decide.ts', specifier: './readiness' },
    { file: 'src/engine/decide.ts', specifier: '../campaign/types' },
    { file: 'src/report/model.ts', specifier: '../reconcile/result' },
    { file: 'src/apps/cli/demo.ts', specifier: '../demo/demo.js' },
    { file: 'src/observe/read.ts', specifier: 'node:crypto' },
    { file: 'policies/guardrails.ts', specifier: '../src/stack/graph-roles' },
  ])('accepts %o', (edge) => {
    expect(reported(edge)).toEqual([]);
  });

  it('reports the one reversed arrow among the real edges', () => {
    const reversed = { file: 'src/engine/state.ts', specifier: '../reconcile/result' };
    const found = checkEdges([...edges, reversed], RULES);
    expect(found).toEqual([{ ...reversed, rule: 'engine may import contracts, campaign/types, ledger/events, errors; not reconcile/result' }]);
  });
});
