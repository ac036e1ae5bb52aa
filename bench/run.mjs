#!/usr/bin/env node
// `npm run bench`: prints performance figures. Not a test: numbers are read, not asserted.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'campaign');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timeCommand(args, runs = 5) {
  const times = [];
  let last;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    last = spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms: median(times), status: last.status };
}

function benchValidate(count) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-campaigns-'));
  const template = fs.readFileSync(path.join(ROOT, 'campaigns', 'admins-passkeys.yaml'), 'utf8');
  for (let i = 0; i < count; i++) {
    const name = `campaign-${String(i).padStart(4, '0')}`;
    fs.writeFileSync(path.join(dir, `${name}.yaml`), template.replace('name: admins-passkeys', `name: ${name}`));
  }
  const r = timeCommand(['validate', dir, '--format', 'json']);
  fs.rmSync(dir, { recursive: true, force: true });
  return r;
}

const sections = [];
const startup = timeCommand(['--version'], 9);
sections.push(`campaign --version (process start-up): ${startup.ms.toFixed(0)} ms`);
for (const n of [2, 200]) {
  const r = benchValidate(n);
  sections.push(`campaign validate, ${n} campaign files: ${r.ms.toFixed(0)} ms (median of 5, whole process, exit ${r.status})`);
}

console.log(`# passkey-campaigns benchmark (${os.cpus().length} cores, node ${process.version})`);
for (const s of sections) console.log(s);
// Each part prints as it goes; the scale run (several minutes) comes last and writes bench/results.md.
// BENCH_SKIP_SCALE=1 leaves it out. Arguments go to the scale run: `npm run bench -- --large` adds the
// unthrottled 300,000 and 1,000,000-user rows (about half an hour; see bench/scale.mjs).
const parts = ['decide.mjs', 'graph.mjs', 'report.mjs', ...(process.env.BENCH_SKIP_SCALE ? [] : ['scale.mjs'])];
for (const extra of parts) {
  const file = path.join(ROOT, 'bench', extra);
  if (!fs.existsSync(file)) continue;
  const r = spawnSync(process.execPath, ['--expose-gc', file, ...(extra === 'scale.mjs' ? process.argv.slice(2) : [])], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) console.log(`bench/${extra} exited with ${r.status}`);
}
