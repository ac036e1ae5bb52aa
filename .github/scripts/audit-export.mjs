#!/usr/bin/env node
// The daily audit (.github/workflows/campaign-audit.yml). For every campaign with a ledger:
//   1. `campaign verify --export`: the ledger's hash chain, the runs' configuration hashes against the campaign
//      file's git history, and that the export committed on the audit branch is a prefix of the ledger;
//   2. `campaign history --export`: the new export, written into a separate worktree of the audit branch (the main
//      checkout, whose history verify reads, is left as it is);
//   3. every events.jsonl committed on the audit branch must be a byte prefix of the new one;
//   4. one commit on the audit branch, pushed fast-forward only (never forced). Nothing new: no commit.
// Anything wrong stops before the commit, with a ::error:: annotation naming the campaign, file and line.
//
// Run it at the root of a full clone (fetch-depth 0: verify reads the campaign files' history). Inputs (env):
//   CAMPAIGN_STATE           the ledger location, as `--state` (default .campaign-state)
//   CAMPAIGNS_DIR            the campaign files (default campaigns)
//   AUDIT_BRANCH             the audit branch (default audit-history; created as an orphan branch on the first run)
//   AUDIT_REMOTE             the remote it is fetched from and pushed to (default origin)
//   CAMPAIGN_REPOSITORY_URL  base of the links in history.md (default $GITHUB_SERVER_URL/$GITHUB_REPOSITORY)
//   AUDIT_NEW_LEDGER         campaign names, comma-separated, whose ledger was reset or restarted on purpose: the
//                            committed export moves to audit/<name>/previous/<n>/ (kept, never deleted) before the
//                            new ledger's export is written. Without it such a campaign fails the prefix checks.
//   AUDIT_WORKTREE           where the audit branch is checked out (default: a new directory under the temp dir)
//   CAMPAIGN_CLI             the campaign command (default bin/campaign at the repository root)
// Exit status: 0 committed and pushed, or nothing new; 1 a ledger or an export is broken; 2 usage or runtime error.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const env = process.env;
const STATE = env.CAMPAIGN_STATE || '.campaign-state';
const CAMPAIGNS_DIR = env.CAMPAIGNS_DIR || 'campaigns';
const BRANCH = env.AUDIT_BRANCH || 'audit-history';
const REMOTE = env.AUDIT_REMOTE || 'origin';
const REPOSITORY_URL = env.CAMPAIGN_REPOSITORY_URL ||
  (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}` : '');
const NEW_LEDGER = (env.AUDIT_NEW_LEDGER || '').split(',').map((s) => s.trim()).filter(Boolean);
const EXPORT_DIR = 'audit';
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** Ends the run: `code` 1 for evidence that something was changed, 2 for anything that kept the check from running. */
class Stop extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// GitHub workflow commands: https://docs.github.com/actions/reference/workflow-commands-for-github-actions
const escData = (s) => String(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escProp = (s) => escData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
function annotate(level, message, props = {}) {
  const p = Object.entries(props).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${escProp(v)}`).join(',');
  process.stdout.write(`::${level}${p ? ` ${p}` : ''}::${escData(message)}\n`);
}
const say = (line) => process.stdout.write(`${line}\n`);

function git(args, opts = {}) {
  const r = spawnSync('git', args, { cwd: opts.cwd, input: opts.input, encoding: 'utf8', env: opts.env ?? env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Stop(2, `git could not be run: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail) {
    throw new Stop(2, `git ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  }
  return opts.allowFail ? r : r.stdout.trim();
}

/** The campaign files: name and status from each, for the export's directory and the notStarted rule. */
function campaignFiles(root) {
  const dir = path.resolve(root, CAMPAIGNS_DIR);
  let names;
  try {
    names = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch (e) {
    throw new Stop(2, `CAMPAIGNS_DIR=${CAMPAIGNS_DIR}: ${e.code === 'ENOENT' ? 'no such directory' : e.message} (at ${dir}). Set it to the directory of the campaign files, relative to the repository root.`);
  }
  return names.map((f) => {
    const file = path.posix.join(CAMPAIGNS_DIR.split(path.sep).join('/'), f);
    let doc;
    try {
      doc = parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    } catch (e) {
      throw new Stop(2, `${file}: not valid YAML (${e.message.split('\n')[0]}); run bin/campaign validate.`);
    }
    const name = doc?.metadata?.name;
    if (typeof name !== 'string' || !/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(name)) {
      throw new Stop(2, `${file}: metadata.name is missing or not a campaign name; run bin/campaign validate.`);
    }
    return { file, name, status: doc?.spec?.status };
  });
}

/** Runs the campaign command at the repository root; never throws for its exit status. */
function campaign(root, args) {
  const cli = env.CAMPAIGN_CLI || path.join(root, 'bin', 'campaign');
  const r = spawnSync(cli, args, { cwd: root, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Stop(2, `${cli} could not be run: ${r.error.message}`);
  return r;
}

const firstLine = (s) => String(s || '').trim().split('\n')[0] || '';

/**
 * The audit branch checked out into its own worktree: the remote's tip, or an empty index for the first run
 * (the branch is then created as an orphan by the push). Returns { dir, base, cleanup }.
 */
export function openAuditWorktree(root) {
  const found = git(['ls-remote', '--exit-code', '--heads', REMOTE, `refs/heads/${BRANCH}`], { cwd: root, allowFail: true });
  if (found.status !== 0 && found.status !== 2) {
    throw new Stop(2, `git ls-remote ${REMOTE} failed (exit ${found.status}): ${firstLine(found.stderr)}. Check AUDIT_REMOTE and the job's access to the repository.`);
  }
  const tmp = env.AUDIT_WORKTREE ? null : fs.mkdtempSync(path.join(env.RUNNER_TEMP || os.tmpdir(), 'campaign-audit-'));
  const dir = env.AUDIT_WORKTREE ? path.resolve(root, env.AUDIT_WORKTREE) : path.join(tmp, 'worktree');
  let base = null;
  if (found.status === 0) {
    const tracking = `refs/remotes/${REMOTE}/${BRANCH}`;
    git(['fetch', '--quiet', '--no-tags', REMOTE, `+refs/heads/${BRANCH}:${tracking}`], { cwd: root });
    base = git(['rev-parse', '--verify', `${tracking}^{commit}`], { cwd: root });
    git(['worktree', 'add', '--quiet', '--detach', dir, base], { cwd: root });
  } else {
    git(['worktree', 'add', '--quiet', '--detach', '--no-checkout', dir, 'HEAD'], { cwd: root });
    git(['read-tree', '--empty'], { cwd: dir });
  }
  const cleanup = () => {
    git(['worktree', 'remove', '--force', dir], { cwd: root, allowFail: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  };
  return { dir, base, cleanup };
}

/** Paths of the events.jsonl files committed at `base` (audit/<campaign>/events.jsonl). */
export function committedExports(dir, base) {
  if (!base) return [];
  return git(['ls-tree', '-r', '-z', '--name-only', base, '--', EXPORT_DIR], { cwd: dir })
    .split('\0').filter((p) => new RegExp(`^${EXPORT_DIR}/[^/]+/events\\.jsonl$`).test(p)).sort();
}

function countNewlines(buf, from = 0, to = buf.length) {
  let n = 0;
  for (let i = buf.indexOf(10, from); i !== -1 && i < to; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Whether the committed blob `base:repoPath` is a byte prefix of the file `file`, streamed (a ledger may be
 * larger than memory allows). { prefix: true, oldBytes, newLines } or { prefix: false, line, why }.
 */
export async function checkPrefix(dir, base, repoPath, file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    return { prefix: false, line: 1, why: `the new export has no ${repoPath} (${e.code ?? e.message})` };
  }
  try {
    const child = spawn('git', ['cat-file', 'blob', `${base}:${repoPath}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((resolve) => child.on('close', resolve));
    let offset = 0;
    let lines = 0;
    let result = null;
    for await (const chunk of child.stdout) {
      if (result) continue; // drain
      const mine = Buffer.alloc(chunk.length);
      const n = fs.readSync(fd, mine, 0, chunk.length, offset);
      if (n === chunk.length && mine.equals(chunk)) {
        lines += countNewlines(chunk);
        offset += chunk.length;
        continue;
      }
      let i = 0;
      while (i < n && mine[i] === chunk[i]) i++;
      const line = lines + countNewlines(chunk, 0, i) + 1;
      result = i >= n
        ? { prefix: false, line, why: `the new export ends within or before line ${line}, but the committed one goes on: lines were removed from the end of the ledger` }
        : { prefix: false, line, why: `line ${line} differs from the committed one: the ledger was rewritten` };
    }
    const code = await exited;
    if (code !== 0) throw new Stop(2, `git cat-file ${base}:${repoPath} failed (exit ${code}): ${firstLine(stderr)}`);
    if (result) return result;
    const size = fs.fstatSync(fd).size;
    let newLines = 0;
    const buf = Buffer.alloc(1024 * 1024);
    for (let at = offset; at < size;) {
      const n = fs.readSync(fd, buf, 0, buf.length, at);
      if (n === 0) break;
      newLines += countNewlines(buf, 0, n);
      at += n;
    }
    return { prefix: true, oldBytes: offset, oldLines: lines, newLines };
  } finally {
    fs.closeSync(fd);
  }
}

/** Lines of a file written by this run (no committed version). */
function linesOf(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1024 * 1024);
    let n;
    let at = 0;
    let lines = 0;
    while ((n = fs.readSync(fd, buf, 0, buf.length, at)) > 0) {
      lines += countNewlines(buf, 0, n);
      at += n;
    }
    return lines;
  } finally {
    fs.closeSync(fd);
  }
}

/** AUDIT_NEW_LEDGER: the committed export of each named campaign moves to audit/<name>/previous/<n>/. */
function moveAside(dir, base, name) {
  const from = `${EXPORT_DIR}/${name}`;
  const tracked = base ? git(['ls-tree', '-z', '--name-only', base, '--', `${from}/`], { cwd: dir }).split('\0').filter(Boolean) : [];
  const files = tracked.filter((p) => /\/(events\.jsonl|history\.md)$/.test(p));
  if (files.length === 0) {
    annotate('warning', `AUDIT_NEW_LEDGER names ${name}, but the audit branch holds no export of it: nothing to move aside.`);
    return null;
  }
  let n = 1;
  while (fs.existsSync(path.join(dir, from, 'previous', String(n)))) n++;
  const to = `${from}/previous/${n}`;
  fs.mkdirSync(path.join(dir, to), { recursive: true });
  for (const f of files) git(['mv', f, `${to}/${path.posix.basename(f)}`], { cwd: dir });
  return to;
}

/** Commit identity: the repository's, else GitHub Actions' bot (a runner has no user.name / user.email). */
function commitEnv(root) {
  const has = (k) => git(['config', '--get', k], { cwd: root, allowFail: true }).status === 0;
  const out = { ...env };
  if (!has('user.name') && !env.GIT_AUTHOR_NAME) out.GIT_AUTHOR_NAME = out.GIT_COMMITTER_NAME = 'github-actions[bot]';
  if (!has('user.email') && !env.GIT_AUTHOR_EMAIL) out.GIT_AUTHOR_EMAIL = out.GIT_COMMITTER_EMAIL = '41898282+github-actions[bot]@users.noreply.github.com';
  return out;
}

function summary(lines) {
  if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, `${lines.join('\n')}\n`);
}

export async function main() {
  if (env.GITHUB_ACTIONS === 'true' && !env.CAMPAIGN_STATE) {
    throw new Stop(2, 'CAMPAIGN_STATE is not set: set the variable CAMPAIGN_STATE of the campaign-audit environment to the ledger location (the stack output ledgerUrl, azblob://<account>/ledger).');
  }
  const root = git(['rev-parse', '--show-toplevel']);
  const campaigns = campaignFiles(root);
  for (const n of NEW_LEDGER) {
    if (!campaigns.some((c) => c.name === n)) throw new Stop(2, `AUDIT_NEW_LEDGER names ${n}, which is no campaign in ${CAMPAIGNS_DIR}/ (${campaigns.map((c) => c.name).join(', ') || 'none'}).`);
  }
  const wt = openAuditWorktree(root);
  try {
    return await audit(root, campaigns, wt);
  } finally {
    wt.cleanup();
  }
}

async function audit(root, campaigns, { dir, base }) {
  const exportDir = path.join(dir, EXPORT_DIR);
  const head = git(['rev-parse', 'HEAD'], { cwd: root });
  say(`audit branch ${BRANCH} on ${REMOTE}: ${base ? `at ${base.slice(0, 12)}` : 'not there yet (this run creates it)'}; campaigns from ${CAMPAIGNS_DIR}/ at ${head.slice(0, 12)}; ledger ${STATE}`);

  const moved = new Map();
  for (const n of NEW_LEDGER) {
    const to = moveAside(dir, base, n);
    if (to) {
      moved.set(n, to);
      say(`${n}: the committed export moves to ${to}/ (AUDIT_NEW_LEDGER)`);
    }
  }

  // 1. verify every campaign before anything is written.
  let broken = 0;
  const included = [];
  const fileState = !/^[a-z][a-z0-9+.-]*:\/\//i.test(STATE) && !STATE.includes('=');
  for (const c of campaigns) {
    if (c.status === 'notStarted' && fileState && !fs.existsSync(path.resolve(root, STATE, c.name, 'ledger.jsonl'))) {
      say(`${c.name}: notStarted, no ledger: nothing to audit`);
      continue;
    }
    const r = campaign(root, ['verify', '--campaign', c.file, '--state', STATE, '--export', exportDir, '--json']);
    let report = null;
    try {
      report = JSON.parse(r.stdout);
    } catch {
      // exit 2 prints its error on stderr only
    }
    // The worktree is a temporary directory: name the export by branch and path instead.
    const plain = (text) => String(text).split(`${dir}${path.sep}`).join(`${BRANCH}:`);
    for (const w of report?.warnings ?? []) annotate('warning', `${c.name}: ${plain(w)}`, { file: c.file });
    if (r.status === 0 && report) {
      if (c.status === 'notStarted' && report.lines === 0) {
        say(`${c.name}: notStarted, empty ledger: nothing to audit`);
        continue;
      }
      const chain = report.chain?.startsAt == null ? 'no chained line' : report.chain.startsAt === 1 ? 'chained from line 1' : `chained from line ${report.chain.startsAt} (${report.chain.unchainedLines} older lines covered as a block)`;
      say(`${c.name}: ${report.lines} lines intact, ${chain}; ${report.runs?.configurationChecked ?? 0} of ${report.runs?.total ?? 0} runs' configuration checked against git; committed export ${report.export?.lines ?? 0} lines, a prefix`);
      included.push(c);
      continue;
    }
    if (r.status === 1 && report?.broken) {
      const b = report.broken;
      const where = b.source === 'export' ? `${EXPORT_DIR}/${c.name}/events.jsonl on ${BRANCH}` : b.source === 'configuration' ? `the ledger (${report.ledger}), a run's configuration` : `the ledger (${report.ledger})`;
      annotate('error', `${c.name}: ${where}${b.line > 0 ? `, line ${b.line}` : ''}: ${plain(b.message)}`, { title: `campaign verify: ${c.name} is broken`, file: c.file });
      broken = broken || 1;
      continue;
    }
    const why = firstLine(r.stderr) || firstLine(r.stdout) || `exit ${r.status}`;
    process.stderr.write(r.stderr);
    annotate('error', `${c.name}: campaign verify could not check the ledger (exit ${r.status}): ${why}`, { title: `campaign verify: ${c.name} not checked`, file: c.file });
    broken = 2;
  }
  if (broken) throw new Stop(broken, `campaign verify failed; nothing was exported or committed.`);

  // 2. the new exports, in the audit worktree.
  for (const c of included) {
    const args = ['history', '--campaign', c.file, '--state', STATE, '--export', exportDir];
    if (REPOSITORY_URL) args.push('--repository-url', REPOSITORY_URL);
    const r = campaign(root, args);
    if (r.status !== 0) {
      process.stderr.write(r.stderr);
      annotate('error', `${c.name}: campaign history --export failed (exit ${r.status}): ${firstLine(r.stderr) || firstLine(r.stdout)}`, { title: `export of ${c.name} failed`, file: c.file });
      throw new Stop(2, 'an export failed; nothing was committed.');
    }
  }

  // 3. every committed events.jsonl is a byte prefix of the new one.
  const added = new Map();
  let rewritten = 0;
  for (const p of committedExports(dir, base)) {
    const name = p.split('/')[1];
    if (moved.has(name)) continue;
    const r = await checkPrefix(dir, base, p, path.join(dir, p));
    if (!r.prefix) {
      annotate('error', `${p}: ${r.why}. The committed export is not a prefix of the new one, so nothing was committed. If ${name}'s ledger was reset or restarted on purpose, run the audit workflow by hand with new-ledger: ${name}.`, { title: `audit export of ${name} rewritten`, file: p, line: r.line });
      rewritten++;
      continue;
    }
    added.set(name, r.newLines);
  }
  if (rewritten) throw new Stop(1, `${rewritten} committed export${rewritten === 1 ? ' is' : 's are'} not a prefix of the new one; nothing was committed.`);
  for (const c of included) {
    if (!added.has(c.name)) added.set(c.name, linesOf(path.join(exportDir, c.name, 'events.jsonl')));
  }

  // 4. one commit, fast-forward.
  if (fs.existsSync(exportDir)) git(['add', '--all', '--', EXPORT_DIR], { cwd: dir });
  const tree = git(['write-tree'], { cwd: dir });
  const baseTree = base ? git(['rev-parse', `${base}^{tree}`], { cwd: dir }) : EMPTY_TREE;
  if (tree === baseTree) {
    say(`nothing new: ${BRANCH} already holds every event.`);
    summary(['### Campaign audit', '', `Every ledger verified; nothing new since ${base ? `\`${base.slice(0, 12)}\`` : 'never'}.`]);
    return 0;
  }
  const total = [...added.values()].reduce((a, b) => a + b, 0);
  const parts = [...added].filter(([, n]) => n > 0).map(([n, k]) => `${n} +${k}`);
  const subject = total > 0
    ? `audit: ${total} new event${total === 1 ? '' : 's'} (${parts.join(', ')})`
    : `audit: history.md regenerated (${[...added.keys()].join(', ')})`;
  const body = [
    `Verified with campaign verify before the export: each ledger's hash chain is intact, the configuration of its runs matches the campaign files' history at ${head}, and each committed events.jsonl is a prefix of the new one.`,
    ...[...moved].map(([n, to]) => `${n}: a new ledger${env.GITHUB_ACTOR ? `, confirmed by ${env.GITHUB_ACTOR}` : ''}; its previous export moved to ${to}/.`),
    ...(env.GITHUB_RUN_ID && env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY ? [`Run: ${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`] : []),
  ];
  const commit = git(['commit-tree', tree, ...(base ? ['-p', base] : []), '-F', '-'], { cwd: dir, input: `${subject}\n\n${body.join('\n\n')}\n`, env: commitEnv(root) });
  // No --force: the remote refuses anything but a fast-forward (and branch protection refuses a force push anyway).
  const pushed = git(['push', '--quiet', REMOTE, `${commit}:refs/heads/${BRANCH}`], { cwd: root, allowFail: true });
  if (pushed.status !== 0) {
    throw new Stop(2, `the push to ${BRANCH} was refused: ${firstLine(pushed.stderr)}. Nothing was changed on ${REMOTE}; the next run exports the same events again.`);
  }
  say(`${commit.slice(0, 12)} pushed to ${BRANCH}: ${subject}`);
  summary(['### Campaign audit', '', `\`${commit.slice(0, 12)}\` on \`${BRANCH}\`: ${subject.replace(/^audit: /, '')}`]);
  return 0;
}

const invoked = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) {
  main().then(
    (code) => { process.exitCode = code; },
    (e) => {
      if (e instanceof Stop) {
        annotate('error', e.message, { title: 'campaign audit' });
        process.exitCode = e.code;
      } else {
        process.stderr.write(`audit-export: internal error: ${e?.stack ?? e}\n`);
        process.exitCode = 2;
      }
    },
  );
}
