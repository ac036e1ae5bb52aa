// The daily audit's script (.github/scripts/audit-export.mjs), run as the workflow runs it, in a scratch git
// repository whose `origin` is a bare repository on disk, over a file-store ledger built with the chain of
// src/ledger/chain.ts. The first part runs it against a stand-in `campaign` command (verify answers as told, history
// copies the ledger), so the script's own git work — the prefix check, the commit and the fast-forward push — is
// tested on its own; the second part runs it against the real bin/campaign.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHAIN_GENESIS, chainLine } from '../../src/ledger/chain';
import { encodeEvent } from '../../src/ledger/codec';
import type { LedgerEvent } from '../../src/ledger/events';
import { fixtureCampaignText } from '../helpers/campaigns';
import { ensureBuilt } from '../reliability/support';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, '.github', 'scripts', 'audit-export.mjs');
const NAME = 'admins-passkeys';
const FILE = `campaigns/${NAME}.yaml`;
const EXPORT = `audit/${NAME}/events.jsonl`;

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

interface Scratch {
  dir: string;
  repo: string;
  remote: string;
  state: string;
  git(...args: string[]): string;
  remoteGit(...args: string[]): string;
  /** The audit branch's tip in the remote, or null. */
  tip(): string | null;
  ledgerFile(): string;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A checkout of main with the campaign file committed and pushed to a bare `origin`. */
function scratch(status = 'inProgress'): Scratch {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-export-'));
  dirs.push(dir);
  const repo = path.join(dir, 'repo');
  const remote = path.join(dir, 'remote.git');
  const state = path.join(dir, 'state');
  const run = (cwd: string, args: string[]) => spawnSync('git', args, { cwd, encoding: 'utf8', env: gitEnv(dir) });
  const must = (cwd: string) => (...args: string[]) => {
    const r = run(cwd, args);
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  fs.mkdirSync(repo);
  must(dir)('init', '-q', '--bare', remote);
  const git = must(repo);
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'ci@example.com');
  git('config', 'user.name', 'ci');
  fs.mkdirSync(path.join(repo, 'campaigns'));
  fs.writeFileSync(path.join(repo, FILE), fixtureCampaignText(NAME).replace('status: notStarted', `status: ${status}`));
  git('add', '-A');
  git('commit', '-qm', 'campaign');
  git('remote', 'add', 'origin', remote);
  git('push', '-q', 'origin', 'main');
  fs.mkdirSync(path.join(state, NAME), { recursive: true });
  const remoteGit = must(remote);
  return {
    dir, repo, remote, state, git, remoteGit,
    tip: () => {
      const r = run(remote, ['rev-parse', '--verify', '-q', 'refs/heads/audit-history']);
      return r.status === 0 ? r.stdout.trim() : null;
    },
    ledgerFile: () => path.join(state, NAME, 'ledger.jsonl'),
  };
}

/** git without the machine's global or system configuration. */
function gitEnv(dir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: path.join(dir, 'no-gitconfig') };
}

/** Chained ledger lines for these events, following `prev`. */
function chained(events: LedgerEvent[], prev = CHAIN_GENESIS): { text: string; h: string } {
  let h = prev;
  let text = '';
  for (const e of events) {
    const l = chainLine(h, encodeEvent(e));
    text += `${l.line}\n`;
    h = l.h;
  }
  return { text, h };
}

/** The last chain hash of a ledger's text. */
const lastH = (text: string) => /"h":"([0-9a-f]{64})"\}\n$/.exec(text)![1]!;

const U1 = { userId: 'a1000000-0000-4000-8000-000000000001', userPrincipalName: 'ada@contoso.com' };
const U2 = { userId: 'a1000000-0000-4000-8000-000000000002', userPrincipalName: 'bob@contoso.com' };

/** One reconcile run's events: runStarted stamped with the campaign file's identity, a stage change, runFinished. */
function runEvents(s: Scratch, day: number, user = U1): LedgerEvent[] {
  const at = `2026-12-${String(day).padStart(2, '0')}T06:00:00.000Z`;
  const runId = `day-${String(day).padStart(3, '0')}`;
  const bytes = fs.readFileSync(path.join(s.repo, FILE));
  return [
    {
      v: 1, type: 'runStarted', at, runId, campaign: NAME, status: 'inProgress', intents: 1,
      campaignSha256: sha256(bytes), campaignCommit: s.git('log', '-1', '--format=%H', '--', FILE), campaignFile: FILE,
    },
    { v: 1, type: 'userEnteredStage', at, runId, ...user, from: null, to: 'register', reason: 'NoPasskeyRegistered', message: 'no passkey registered' },
    { v: 1, type: 'runFinished', at, runId, ok: true, counts: { moved: 1 } },
  ] as LedgerEvent[];
}

interface Audit { code: number | null; stdout: string; stderr: string }

function audit(s: Scratch, env: Record<string, string> = {}): Audit {
  const r = spawnSync(process.execPath, [SCRIPT], {
    cwd: s.repo, encoding: 'utf8',
    env: { ...gitEnv(s.dir), TMPDIR: s.dir, CAMPAIGN_STATE: s.state, CAMPAIGN_REPOSITORY_URL: 'https://github.com/contoso/passkeys', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const show = (s: Scratch, rev: string, file: string) => s.remoteGit('show', `${rev}:${file}`);

/** Rewrites line `n` (1-based) of the ledger and computes the chain again from there, as someone covering it up would. */
function rewriteLine(s: Scratch, n: number, edit: (event: Record<string, unknown>) => void): void {
  const lines = fs.readFileSync(s.ledgerFile(), 'utf8').split('\n').filter(Boolean);
  const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>).map(({ h: _h, ...e }) => e);
  edit(events[n - 1]!);
  fs.writeFileSync(s.ledgerFile(), chained(events as LedgerEvent[]).text);
}

describe('audit-export.mjs: the git part, against a stand-in campaign command', () => {
  /** Stand-in CLI: verify prints the --json object and exits as FAKE_VERIFY says (never checks the export); history copies the ledger. */
  function standIn(s: Scratch): string {
    const cli = path.join(s.dir, 'campaign');
    fs.writeFileSync(cli, `#!/usr/bin/env node
const fs = require('node:fs'), path = require('node:path');
const [cmd, ...rest] = process.argv.slice(2);
const flag = (n) => { const i = rest.indexOf('--' + n); return i === -1 ? undefined : rest[i + 1]; };
fs.appendFileSync(${JSON.stringify(path.join(s.dir, 'calls.log'))}, [cmd, ...rest].join(' ') + '\\n');
const name = path.basename(flag('campaign')).replace(/\\.ya?ml$/, '');
const ledger = path.join(flag('state'), name, 'ledger.jsonl');
const bytes = fs.existsSync(ledger) ? fs.readFileSync(ledger) : Buffer.alloc(0);
const lines = bytes.toString('utf8').split('\\n').filter(Boolean).length;
if (cmd === 'verify') {
  const told = process.env.FAKE_VERIFY || '0';
  if (told === '2') { process.stderr.write('campaign verify: --state ' + flag('state') + ': the ledger could not be read\\n'); process.exit(2); }
  const broken = told === '1' ? { source: 'ledger', line: 2, message: 'its chain hash does not match this line and line 1: this line was edited, or a line was removed, inserted or reordered here' } : null;
  process.stdout.write(JSON.stringify({ campaign: name, ledger, intact: !broken, lines, chain: { startsAt: lines ? 1 : null, unchainedLines: 0 },
    runs: { total: 1, configurationChecked: 1, configurationUnrecorded: 0 }, export: { dir: flag('export'), lines: 0, prefix: true }, broken, warnings: [] }) + '\\n');
  process.exit(broken ? 1 : 0);
}
if (cmd === 'history') {
  const out = path.join(flag('export'), name);
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'events.jsonl'), bytes);
  fs.writeFileSync(path.join(out, 'history.md'), '# ' + name + '\\n\\n' + lines + ' events\\n');
  process.exit(0);
}
process.exit(2);
`, { mode: 0o755 });
    return cli;
  }
  const calls = (s: Scratch) => {
    const f = path.join(s.dir, 'calls.log');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  };

  it('first run: verifies, exports into a worktree of the audit branch and pushes it as a new orphan branch', () => {
    const s = scratch();
    const ledger = chained(runEvents(s, 1)).text;
    fs.writeFileSync(s.ledgerFile(), ledger);
    const head = s.git('rev-parse', 'HEAD');
    const r = audit(s, { CAMPAIGN_CLI: standIn(s) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const tip = s.tip()!;
    expect(tip).toMatch(/^[0-9a-f]{40}$/);
    expect(show(s, tip, EXPORT) + '\n').toBe(ledger);
    // An orphan: no parent, and nothing but the export in it.
    expect(s.remoteGit('rev-list', '--parents', '-n', '1', tip)).toBe(tip);
    expect(s.remoteGit('ls-tree', '-r', '--name-only', tip).split('\n')).toEqual([`audit/${NAME}/events.jsonl`, `audit/${NAME}/history.md`]);
    expect(s.remoteGit('log', '-1', '--format=%s', tip)).toBe(`audit: 3 new events (${NAME} +3)`);
    expect(s.remoteGit('log', '-1', '--format=%an <%ae>', tip)).toBe('ci <ci@example.com>');
    // verify first (with the worktree's export), then history into the same directory; the main checkout is untouched.
    const c = calls(s);
    expect(c).toHaveLength(2);
    expect(c[0]).toMatch(new RegExp(`^verify --campaign ${FILE} --state ${s.state} --export (\\S+)/audit --json$`));
    const exportDir = /--export (\S+)/.exec(c[0]!)![1];
    expect(c[1]).toBe(`history --campaign ${FILE} --state ${s.state} --export ${exportDir} --repository-url https://github.com/contoso/passkeys`);
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
    expect(s.git('status', '--porcelain')).toBe('');
    expect(s.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    expect(fs.existsSync(path.dirname(exportDir!))).toBe(false);
  });

  it('second run: commits only the appended lines, as a fast-forward; a third run with nothing new commits nothing', () => {
    const s = scratch();
    const first = chained(runEvents(s, 1)).text;
    fs.writeFileSync(s.ledgerFile(), first);
    const cli = standIn(s);
    expect(audit(s, { CAMPAIGN_CLI: cli }).code).toBe(0);
    const tip1 = s.tip()!;
    const more = chained([...runEvents(s, 2, U2)], lastH(first)).text;
    fs.appendFileSync(s.ledgerFile(), more);
    const r = audit(s, { CAMPAIGN_CLI: cli });
    expect(r.code).toBe(0);
    const tip2 = s.tip()!;
    expect(tip2).not.toBe(tip1);
    expect(s.remoteGit('rev-parse', `${tip2}^`)).toBe(tip1);
    expect(s.remoteGit('log', '-1', '--format=%s', tip2)).toBe(`audit: 3 new events (${NAME} +3)`);
    expect(show(s, tip2, EXPORT) + '\n').toBe(first + more);
    const diff = s.remoteGit('diff', '--unified=0', tip1, tip2, '--', EXPORT).split('\n').filter((l) => /^[+-](?![+-])/.test(l));
    expect(diff).toEqual(more.trimEnd().split('\n').map((l) => `+${l}`));

    const again = audit(s, { CAMPAIGN_CLI: cli });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing new');
    expect(s.tip()).toBe(tip2);
  });

  it('names each campaign with new events and their number; a campaign with nothing new is left as it is', () => {
    const s = scratch();
    const other = 'all-staff-passkeys';
    fs.writeFileSync(path.join(s.repo, 'campaigns', `${other}.yaml`), fixtureCampaignText(other).replace('status: notStarted', 'status: inProgress'));
    s.git('add', '-A');
    s.git('commit', '-qm', 'second campaign');
    const first = chained(runEvents(s, 1)).text;
    fs.writeFileSync(s.ledgerFile(), first);
    fs.mkdirSync(path.join(s.state, other));
    const otherLedger = chained([{ v: 1, type: 'runStarted', at: '2026-12-01T06:00:00.000Z', runId: 'day-001', campaign: other, status: 'inProgress' }] as LedgerEvent[]).text;
    fs.writeFileSync(path.join(s.state, other, 'ledger.jsonl'), otherLedger);
    const cli = standIn(s);
    expect(audit(s, { CAMPAIGN_CLI: cli }).code).toBe(0);
    const tip1 = s.tip()!;
    expect(s.remoteGit('log', '-1', '--format=%s', tip1)).toBe(`audit: 4 new events (${NAME} +3, ${other} +1)`);
    fs.appendFileSync(s.ledgerFile(), chained(runEvents(s, 2), lastH(first)).text);
    expect(audit(s, { CAMPAIGN_CLI: cli }).code).toBe(0);
    const tip2 = s.tip()!;
    expect(s.remoteGit('log', '-1', '--format=%s', tip2)).toBe(`audit: 3 new events (${NAME} +3)`);
    expect(s.remoteGit('diff', '--name-only', tip1, tip2).split('\n')).toEqual([`audit/${NAME}/events.jsonl`, `audit/${NAME}/history.md`]);
    expect(show(s, tip2, `audit/${other}/events.jsonl`) + '\n').toBe(otherLedger);
  });

  it('a committed line rewritten in the ledger (chain computed again) fails the run, naming the file and line; nothing is committed', () => {
    const s = scratch();
    fs.writeFileSync(s.ledgerFile(), chained([...runEvents(s, 1), ...runEvents(s, 2, U2)]).text);
    const cli = standIn(s);
    expect(audit(s, { CAMPAIGN_CLI: cli }).code).toBe(0);
    const tip = s.tip();
    rewriteLine(s, 2, (e) => { e.message = 'a different story'; });
    const r = audit(s, { CAMPAIGN_CLI: cli });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^::error title=audit export of ${NAME} rewritten,file=audit/${NAME}/events.jsonl,line=2::audit/${NAME}/events.jsonl: line 2 differs from the committed one`, 'm'));
    expect(r.stdout).toContain(`new-ledger: ${NAME}`);
    expect(s.tip()).toBe(tip);
    expect(s.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  });

  it('lines removed from the end of the ledger fail the run; nothing is committed', () => {
    const s = scratch();
    const first = chained(runEvents(s, 1)).text;
    fs.writeFileSync(s.ledgerFile(), first);
    const cli = standIn(s);
    expect(audit(s, { CAMPAIGN_CLI: cli }).code).toBe(0);
    const tip = s.tip();
    fs.writeFileSync(s.ledgerFile(), first.split('\n').slice(0, 2).join('\n') + '\n');
    const r = audit(s, { CAMPAIGN_CLI: cli });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error title=audit export of admins-passkeys rewritten,file=audit\/admins-passkeys\/events.jsonl,line=3::.*lines were removed from the end of the ledger/);
    expect(s.tip()).toBe(tip);
  });

  it('verify exit 1: the broken line\'s message as an error annotation, no export, no commit', () => {
    const s = scratch();
    fs.writeFileSync(s.ledgerFile(), chained(runEvents(s, 1)).text);
    const r = audit(s, { CAMPAIGN_CLI: standIn(s), FAKE_VERIFY: '1' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`::error title=campaign verify%3A ${NAME} is broken,file=${FILE}::${NAME}: the ledger (${s.ledgerFile()}), line 2: its chain hash does not match this line and line 1`);
    expect(calls(s).map((c) => c.split(' ')[0])).toEqual(['verify']);
    expect(s.tip()).toBeNull();
  });

  it('verify exit 2: its error as an annotation, exit 2, no commit', () => {
    const s = scratch();
    fs.writeFileSync(s.ledgerFile(), chained(runEvents(s, 1)).text);
    const r = audit(s, { CAMPAIGN_CLI: standIn(s), FAKE_VERIFY: '2' });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`${NAME}: campaign verify could not check the ledger (exit 2): campaign verify: --state ${s.state}: the ledger could not be read`);
    expect(s.tip()).toBeNull();
  });

  it('a notStarted campaign without a ledger is not audited, and no branch is created for nothing', () => {
    const s = scratch('notStarted');
    const r = audit(s, { CAMPAIGN_CLI: standIn(s) });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${NAME}: notStarted, no ledger: nothing to audit`);
    expect(calls(s)).toEqual([]);
    expect(s.tip()).toBeNull();
  });

  it('new-ledger: a reset campaign\'s committed export moves to previous/1/ and the new ledger is exported', () => {
    const s = scratch();
    const old = chained(runEvents(s, 1)).text;
    fs.writeFileSync(s.ledgerFile(), old);
    const cli = standIn(s);
    expect(audit(s, { CAMPAIGN_CLI: cli }).code).toBe(0);
    const tip1 = s.tip()!;
    const fresh = chained([
      { v: 1, type: 'campaignArchived', at: '2026-12-20T06:00:00.000Z', archive: `${NAME}/archive/20261220T060000Z/` },
      { v: 1, type: 'campaignReset', at: '2026-12-20T06:00:00.000Z', generation: 1 },
    ] as LedgerEvent[]).text;
    fs.writeFileSync(s.ledgerFile(), fresh);
    expect(audit(s, { CAMPAIGN_CLI: cli }).code).toBe(1); // without the confirmation: not a prefix
    expect(s.tip()).toBe(tip1);
    const r = audit(s, { CAMPAIGN_CLI: cli, AUDIT_NEW_LEDGER: NAME, GITHUB_ACTOR: 'octo-auditor' });
    expect(r.code).toBe(0);
    const tip2 = s.tip()!;
    expect(s.remoteGit('rev-parse', `${tip2}^`)).toBe(tip1);
    expect(show(s, tip2, `audit/${NAME}/previous/1/events.jsonl`) + '\n').toBe(old);
    expect(show(s, tip2, EXPORT) + '\n').toBe(fresh);
    expect(s.remoteGit('log', '-1', '--format=%B', tip2)).toContain(`${NAME}: a new ledger, confirmed by octo-auditor; its previous export moved to audit/${NAME}/previous/1/.`);
  });

  it('usage errors exit 2 before anything runs: no ledger location in a workflow, new-ledger naming no campaign', () => {
    const s = scratch();
    fs.writeFileSync(s.ledgerFile(), chained(runEvents(s, 1)).text);
    const cli = standIn(s);
    const unset = spawnSync(process.execPath, [SCRIPT], { cwd: s.repo, encoding: 'utf8', env: { ...gitEnv(s.dir), GITHUB_ACTIONS: 'true', CAMPAIGN_CLI: cli } });
    expect(unset.status).toBe(2);
    expect(unset.stdout).toContain('::error title=campaign audit::CAMPAIGN_STATE is not set: set the variable CAMPAIGN_STATE of the campaign-audit environment');
    const unknown = audit(s, { CAMPAIGN_CLI: cli, AUDIT_NEW_LEDGER: 'admins' });
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toContain(`AUDIT_NEW_LEDGER names admins, which is no campaign in campaigns/ (${NAME}).`);
    expect(calls(s)).toEqual([]);
    expect(s.tip()).toBeNull();
  });

  it('never forces: a refused push fails the run and leaves the remote as it was', () => {
    const s = scratch();
    const first = chained(runEvents(s, 1)).text;
    fs.writeFileSync(s.ledgerFile(), first);
    const cli = standIn(s);
    expect(audit(s, { CAMPAIGN_CLI: cli }).code).toBe(0);
    const tip = s.tip();
    fs.writeFileSync(path.join(s.remote, 'hooks', 'pre-receive'), '#!/bin/sh\necho "protected branch" >&2\nexit 1\n', { mode: 0o755 });
    fs.appendFileSync(s.ledgerFile(), chained(runEvents(s, 2), lastH(first)).text);
    const r = audit(s, { CAMPAIGN_CLI: cli });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('the push to audit-history was refused');
    expect(s.tip()).toBe(tip);
    const pushes = fs.readFileSync(SCRIPT, 'utf8').split('\n').filter((l) => l.includes("'push'"));
    expect(pushes).toHaveLength(1);
    expect(pushes[0]).not.toMatch(/force|'-f'|`\+/);
  });
});

// Needs `campaign verify` and `campaign history --repository-url` (with events.jsonl written from the ledger's raw
// lines, chain members included).
describe('audit-export.mjs with the real bin/campaign', () => {
  beforeAll(() => ensureBuilt(), 180_000);
  const real = { CAMPAIGN_CLI: path.join(ROOT, 'bin', 'campaign') };

  it('first run commits the ledger byte for byte; the second only the addition; a rewritten committed line fails with no commit', () => {
    const s = scratch();
    const first = chained(runEvents(s, 1)).text;
    fs.writeFileSync(s.ledgerFile(), first);
    const r1 = audit(s, real);
    expect(r1.stdout + r1.stderr).not.toContain('::error');
    expect(r1.code).toBe(0);
    const tip1 = s.tip()!;
    expect(show(s, tip1, EXPORT) + '\n').toBe(first);
    expect(show(s, tip1, `audit/${NAME}/history.md`)).toContain(sha256(first));

    const more = chained(runEvents(s, 2, U2), lastH(first)).text;
    fs.appendFileSync(s.ledgerFile(), more);
    const r2 = audit(s, real);
    expect(r2.code).toBe(0);
    const tip2 = s.tip()!;
    expect(s.remoteGit('rev-parse', `${tip2}^`)).toBe(tip1);
    expect(s.remoteGit('log', '-1', '--format=%s', tip2)).toBe(`audit: 3 new events (${NAME} +3)`);
    const diff = s.remoteGit('diff', '--unified=0', tip1, tip2, '--', EXPORT).split('\n').filter((l) => /^[+-](?![+-])/.test(l));
    expect(diff).toEqual(more.trimEnd().split('\n').map((l) => `+${l}`));

    // The chain computed again after the edit: intact on its own, but no longer what the audit branch holds.
    rewriteLine(s, 2, (e) => { e.message = 'a different story'; });
    const r3 = audit(s, real);
    expect(r3.code).toBe(1);
    expect(r3.stdout).toMatch(/^::error title=campaign verify%3A admins-passkeys is broken,file=campaigns\/admins-passkeys.yaml::admins-passkeys: audit\/admins-passkeys\/events.jsonl on audit-history, line 2: /m);
    expect(s.tip()).toBe(tip2);
  });

  it('a ledger edited without computing the chain again fails verify; nothing is committed', () => {
    const s = scratch();
    const text = chained([...runEvents(s, 1), ...runEvents(s, 2, U2)]).text;
    fs.writeFileSync(s.ledgerFile(), text.replace('no passkey registered', 'no passkey registred'));
    const r = audit(s, real);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^::error title=campaign verify%3A admins-passkeys is broken,.*the ledger \(.*\), line 2: /m);
    expect(s.tip()).toBeNull();
  });
});
