#!/usr/bin/env node
// Prints, one per line, the campaign files this pull request changes so that spec.enforcement.policyState
// becomes `enabled`: enabled in the working tree, not enabled on the base (or the file is new).
// Usage: node .github/scripts/policy-enabling.mjs <base ref>   (run at the repository root, e.g. origin/main)
// A file that does not parse is left to `campaign validate`, which fails the pull request before this runs.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { parse } from 'yaml';

const base = process.argv[2];
if (!base) {
  process.stderr.write('usage: policy-enabling.mjs <base ref>\n');
  process.exit(2);
}

const git = (...args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The policyState a campaign file's text asks for; `reportOnly` is the loader's default. */
function policyState(text) {
  try {
    return parse(text)?.spec?.enforcement?.policyState ?? 'reportOnly';
  } catch {
    return null;
  }
}

const changed = git('diff', '--name-only', '--diff-filter=AM', `${base}...HEAD`, '--', 'campaigns/*.yaml', 'campaigns/*.yml')
  .split('\n').filter(Boolean);
for (const file of changed) {
  if (policyState(fs.readFileSync(file, 'utf8')) !== 'enabled') continue;
  let before = null;
  try {
    before = policyState(git('show', `${base}:${file}`));
  } catch {
    // Not on the base: a new campaign file that starts enabled.
  }
  if (before !== 'enabled') process.stdout.write(`${file}\n`);
}
