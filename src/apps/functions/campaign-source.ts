// The Functions package's campaign-source.json (written by deploy/functions/build.sh): the commit its campaign files
// come from, so every scheduled run records which committed configuration it followed (runStarted campaignCommit).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SchedulerLog, SchedulerSettings } from '../../contracts/scheduler';

/**
 * Written by deploy/functions/build.sh at the package root: the commit the package's campaign files come from and
 * where they are in that repository. `commit` is absent when the build could not vouch for it (it says why in `note`).
 */
export const CAMPAIGN_SOURCE_FILE = 'campaign-source.json';

export interface CampaignSourceFile {
  commit?: string;
  /** The campaigns directory, relative to the repository root, forward slashes. */
  campaignsDir: string;
  note?: string;
}

/**
 * The package's campaign-source.json, checked: null (with the reason logged as a warning) when it is missing,
 * malformed, holds no commit, or names a campaigns directory the app's CAMPAIGNS_DIR setting does not point to.
 * The job keeps running either way; its runs then record only each campaign file's SHA-256.
 */
export function readCampaignSource(root: string, settings: SchedulerSettings, log: SchedulerLog): CampaignSourceFile | null {
  const file = path.join(root, CAMPAIGN_SOURCE_FILE);
  const without = 'runs record only the SHA-256 of each campaign file, not the commit it came from';
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    log.warn('campaign source unknown', { file, problem: code === 'ENOENT' ? 'the package has no campaign-source.json (it was not built with deploy/functions/build.sh)' : `cannot read it (${code})`, effect: without });
    return null;
  }
  const problem = campaignSourceProblem(text);
  if (typeof problem === 'string') {
    log.warn('campaign source unknown', { file, problem, effect: without });
    return null;
  }
  if (problem.commit === undefined) {
    log.warn('campaign source unknown', { file, problem: `the build recorded no commit${problem.note ? `: ${problem.note}` : ''}`, effect: without });
    return null;
  }
  // The deploy's directory, repository-relative, ends with the package's (the project may sit in a subfolder).
  const dir = path.posix.normalize(settings.campaignsDir.split(path.sep).join('/')).replace(/\/$/, '');
  if (path.isAbsolute(settings.campaignsDir) || !(problem.campaignsDir === dir || problem.campaignsDir.endsWith(`/${dir}`))) {
    log.warn('campaign source unknown', { file, problem: `it describes the campaigns directory ${problem.campaignsDir}, but CAMPAIGNS_DIR is ${settings.campaignsDir}`, effect: without });
    return null;
  }
  return problem;
}

/** The parsed file, or what is wrong with it. */
function campaignSourceProblem(text: string): CampaignSourceFile | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return `it is not valid JSON (${(e as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object';
  const o = value as Record<string, unknown>;
  if (typeof o.campaignsDir !== 'string' || o.campaignsDir === '' || o.campaignsDir.startsWith('/') || o.campaignsDir.split('/').includes('..')) {
    return '"campaignsDir" is not a repository-relative directory';
  }
  if (o.commit !== undefined && (typeof o.commit !== 'string' || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(o.commit))) return '"commit" is not a 40-character hexadecimal commit id';
  return { campaignsDir: o.campaignsDir.replace(/\/$/, ''), ...(o.commit !== undefined ? { commit: o.commit as string } : {}), ...(typeof o.note === 'string' ? { note: o.note } : {}) };
}

