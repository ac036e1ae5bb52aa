// `campaign validate`: every campaign file under the given paths, checked on its own, against the
// others, and (with a base revision) against the lock rule.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors';
import { listAtBase, readAtBase, repoPath, resolveBase, type GitBase } from './git';
import { listCampaignFiles, loadCampaignFile, namesUniqueAcrossFiles, parseCampaign, type LoadResult } from './load';
import { checkLock } from './lock';
import type { Campaign, Diagnostic } from './types';
import { appendAll } from '../contracts/arrays';

/** One line per diagnostic (file:line:col: …), as the CLI prints it and the Pulumi program fails with it. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.col}`;
  const sev = d.severity === 'warning' ? 'warning: ' : '';
  return `${where}: ${sev}${d.path ? `${d.path}: ` : ''}${d.message}`;
}

export interface FileReport {
  file: string;
  name: string | null;
  status: string | null;
  valid: boolean;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

export interface ValidationReport {
  valid: boolean;
  base: { rev: string; commit: string } | null;
  files: FileReport[];
  summary: { files: number; invalid: number; errors: number; warnings: number };
}

/** Expands PATH arguments to campaign files; a usage error for anything missing or empty. */
export function expandPaths(paths: string[]): { files: string[]; dirs: string[] } {
  const files: string[] = [];
  const dirs: string[] = [];
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new UsageError(`${p}: no such file or directory.`, 'Pass campaign files or the directory that holds them (default campaigns/).');
    }
    if (st.isDirectory()) {
      const inDir = listCampaignFiles(p);
      if (inDir.length === 0) throw new UsageError(`${p}: no campaign files (*.yaml, *.yml) in this directory.`, 'Add a campaign, for example a copy of campaigns/admins-passkeys.yaml.');
      dirs.push(p);
      appendAll(files, inDir);
    } else {
      files.push(p);
    }
  }
  return { files: [...new Set(files)], dirs };
}

interface BaseCampaign {
  repoPath: string;
  campaign: Campaign;
}

function loadBase(base: GitBase, files: string[], dirs: string[], warn: (file: string, msg: string) => void): Map<string, BaseCampaign> {
  const paths = new Set(files.map((f) => repoPath(base, f)));
  for (const d of dirs) for (const p of listAtBase(base, d)) paths.add(p);
  const texts = readAtBase(base, [...paths]);
  const byName = new Map<string, BaseCampaign>();
  for (const [p, text] of texts) {
    if (text === null) continue;
    const r = parseCampaign(text, p, { skipFileNameRule: true });
    if (!r.campaign) {
      warn(p, `the version on ${base.rev} does not load (${r.errors[0]?.message ?? 'invalid'}); the lock rule cannot compare against it.`);
      continue;
    }
    byName.set(r.campaign.metadata.name, { repoPath: p, campaign: r.campaign });
  }
  return byName;
}

export function validatePaths(paths: string[], opts: { base?: string } = {}): ValidationReport {
  const { files, dirs } = expandPaths(paths);
  const results: LoadResult[] = files.map((f) => loadCampaignFile(f));
  const extra = new Map<string, Diagnostic[]>();
  const add = (file: string, d: Diagnostic) => extra.set(file, [...(extra.get(file) ?? []), d]);
  for (const d of namesUniqueAcrossFiles(results)) add(d.file, d);

  let baseInfo: ValidationReport['base'] = null;
  const removed: FileReport[] = [];
  if (opts.base !== undefined) {
    const base = resolveBase(path.dirname(path.resolve(files[0])), opts.base);
    baseInfo = { rev: base.rev, commit: base.commit };
    const baseByName = loadBase(base, files, dirs, (file, message) =>
      add(file, { severity: 'warning', file, line: 1, col: 1, path: '', message, rule: 'lock/baseUnreadable' }));
    const headNames = new Set<string>();
    for (const r of results) {
      if (!r.campaign) continue;
      headNames.add(r.campaign.metadata.name);
      const b = baseByName.get(r.campaign.metadata.name) ?? null;
      for (const d of checkLock(b?.campaign ?? null, r.campaign, { source: r.source, raw: undefined }, base.rev)) add(r.file, d);
    }
    // A running campaign whose file disappears would be destroyed by `pulumi up`: refuse it.
    const failedToLoad = results.some((r) => !r.campaign);
    for (const [name, b] of baseByName) {
      if (headNames.has(name) || failedToLoad) continue;
      if (b.campaign.spec.status !== 'inProgress' && b.campaign.spec.status !== 'paused') continue;
      const file = path.relative(process.cwd(), path.join(base.root, b.repoPath)) || b.repoPath;
      const d: Diagnostic = { severity: 'error', file, line: 1, col: 1, path: '', rule: 'lock/removed',
        message: `campaign "${name}" is ${b.campaign.spec.status} on ${base.rev} and its file was removed or renamed. End it first (spec.status: ended) in its own change; removing a running campaign would delete its enforcement group and policy.` };
      removed.push({ file, name, status: null, valid: false, errors: [d], warnings: [] });
    }
  }

  const reports: FileReport[] = results.map((r) => {
    const more = extra.get(r.file) ?? [];
    const errors = [...r.errors, ...more.filter((d) => d.severity === 'error')];
    const warnings = [...r.warnings, ...more.filter((d) => d.severity === 'warning')];
    const byPos = (a: Diagnostic, b: Diagnostic) => a.line - b.line || a.col - b.col;
    return {
      file: r.file,
      name: r.campaign?.metadata.name ?? null,
      status: r.campaign?.spec.status ?? null,
      valid: errors.length === 0,
      errors: errors.sort(byPos),
      warnings: warnings.sort(byPos),
    };
  });
  appendAll(reports, removed);
  const errors = reports.reduce((n, r) => n + r.errors.length, 0);
  const warnings = reports.reduce((n, r) => n + r.warnings.length, 0);
  const invalid = reports.filter((r) => !r.valid).length;
  return { valid: invalid === 0, base: baseInfo, files: reports, summary: { files: reports.length, invalid, errors, warnings } };
}
