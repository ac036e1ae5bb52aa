// Ledgers and campaign repositories for the verify tests, built directly: chained lines with chainLine(), a file
// store layout (DIR/<campaign>/ledger.jsonl), a campaign file committed in a scratch git repository.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHAIN_GENESIS, chainLine, splitChained } from '../../src/ledger/chain';
import { fixtureCampaignText } from '../helpers/campaigns';

export const CAMPAIGN = 'admins-passkeys';
export const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Ledger lines (without '\n'): the first `unchained` as an older version wrote them, the rest chained. */
export function ledgerLines(bodies: readonly string[], unchained = 0): string[] {
  const lines: string[] = [];
  for (const [i, body] of bodies.entries()) {
    if (i < unchained) {
      lines.push(body);
      continue;
    }
    const last = lines.at(-1);
    const prev = last === undefined ? CHAIN_GENESIS : (splitChained(last)?.h ?? sha256(lines.map((l) => `${l}\n`).join('')));
    lines.push(chainLine(prev, body).line);
  }
  return lines;
}

/** The lines as a ledger file's bytes. */
export const ledgerText = (lines: readonly string[]) => lines.map((l) => `${l}\n`).join('');

/** The file store's ledger path under `state` (FileStore.ledgerFile). */
export function ledgerFile(state: string, campaign = CAMPAIGN): string {
  return path.join(state, campaign, 'ledger.jsonl');
}

export function writeLedger(state: string, lines: readonly string[], campaign = CAMPAIGN): string {
  const file = ledgerFile(state, campaign);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, ledgerText(lines));
  return file;
}

export interface RunFields {
  campaignSha256?: string;
  campaignCommit?: string;
  campaignFile?: string;
}

/** Event bodies of `runs` runs, each: runStarted, one stage change, runFinished. */
export function runBodies(runs: ReadonlyArray<RunFields | null>, campaign = CAMPAIGN): string[] {
  const out: string[] = [];
  runs.forEach((fields, i) => {
    const day = String(i + 1).padStart(2, '0');
    const at = `2026-12-${day}T06:00:00.000Z`;
    const runId = `day-${day}`;
    out.push(JSON.stringify({ v: 1, at, runId, type: 'runStarted', campaign, status: 'inProgress', ...(fields ?? {}) }));
    out.push(JSON.stringify({ v: 1, at, runId, type: 'userEnteredStage', userId: `u${i}`, userPrincipalName: `user${i}@contoso.example`, from: null, to: 'announced' }));
    out.push(JSON.stringify({ v: 1, at, runId, type: 'runFinished', ok: true }));
  });
  return out;
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_DATE: '2026-11-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-11-01T00:00:00Z' } }).trim();
}

/** The example campaign, started, with `marker` in a comment so each version has other bytes. */
export function campaignText(marker: string): string {
  return `# ${marker}\n${fixtureCampaignText(CAMPAIGN).replace(/status: notStarted/, 'status: inProgress')}`;
}

export interface CampaignRepo {
  root: string;
  /** Absolute path of campaigns/admins-passkeys.yaml. */
  file: string;
  rel: string;
  /** Per committed version, oldest first: its commit and the SHA-256 of the file's bytes. */
  versions: Array<{ commit: string; sha256: string }>;
}

/** A git repository whose campaigns/admins-passkeys.yaml was committed once per marker. */
export function campaignRepo(dir: string, markers: readonly string[] = ['v1', 'v2']): CampaignRepo {
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.email', 'tests@contoso.example');
  git(dir, 'config', 'user.name', 'tests');
  git(dir, 'config', 'commit.gpgsign', 'false');
  const rel = `campaigns/${CAMPAIGN}.yaml`;
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const versions: CampaignRepo['versions'] = [];
  for (const m of markers) {
    const text = campaignText(m);
    fs.writeFileSync(file, text);
    git(dir, 'add', rel);
    git(dir, 'commit', '-q', '-m', `campaign ${m}`);
    versions.push({ commit: git(dir, 'rev-parse', 'HEAD'), sha256: sha256(text) });
  }
  return { root: dir, file, rel, versions };
}
