// Runs the real file store in separate Node processes, to prove locking across processes.
// The store's sources are transpiled to CommonJS once per test file (no build step, no tsx needed).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';

const SRC = path.resolve(__dirname, '../../src');

const CHILD = String.raw`
const { FileStore } = require('./ledger/file/store');
const fs = require('node:fs');
const [dir, mode, campaign, arg] = process.argv.slice(2);
const store = new FileStore({ dir, pollMs: 10 });
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
async function main() {
  if (mode === 'hold') {
    const lock = await store.acquireLock(campaign, { owner: 'child-hold', waitMs: Number(arg || 0) });
    out({ locked: true, pid: process.pid });
    process.stdin.on('data', async () => { await lock.release(); out({ released: true }); process.exit(0); });
    return;
  }
  if (mode === 'try') {
    try {
      const lock = await store.acquireLock(campaign, { owner: 'child-try', waitMs: Number(arg || 0) });
      out({ ok: true, warnings: lock.warnings });
      await lock.release();
    } catch (err) {
      out({ ok: false, name: err.name, message: err.message });
    }
    return;
  }
  if (mode === 'die-while-locking') {
    // Dies like a SIGKILL between creating the file that holds the lock record and writing the record.
    const fsp = fs.promises;
    const open = fsp.open;
    fsp.open = async (file, ...rest) => {
      const fh = await open(file, ...rest);
      if (require('node:path').basename(String(file)).startsWith('.lock')) process.kill(process.pid, 'SIGKILL');
      return fh;
    };
    await store.acquireLock(campaign, { owner: 'child-dies' });
    out({ unexpected: 'survived' });
    return;
  }
  if (mode === 'count') {
    const { iterations, counter } = JSON.parse(arg);
    for (let i = 0; i < iterations; i++) {
      const lock = await store.acquireLock(campaign, { owner: 'counter', waitMs: 60000 });
      const n = Number(fs.readFileSync(counter, 'utf8'));
      await new Promise((r) => setTimeout(r, 1));
      fs.writeFileSync(counter, String(n + 1));
      await store.append(campaign, [{ v: 1, type: 'tick', at: new Date().toISOString(), pid: process.pid, i }]);
      await lock.release();
    }
    out({ done: true });
    return;
  }
  throw new Error('unknown mode ' + mode);
}
main().catch((err) => { out({ crashed: true, name: err.name, message: err.message }); process.exit(3); });
`;

/** Transpiles src/ledger (and what it imports: src/errors.ts, src/contracts) into a temp dir with the child script; returns the script path. */
export function buildChildScript(): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-child-'));
  const copy = (rel: string): void => {
    const from = path.join(SRC, rel);
    if (fs.statSync(from).isDirectory()) {
      for (const name of fs.readdirSync(from)) copy(path.join(rel, name));
      return;
    }
    if (!rel.endsWith('.ts')) return;
    const js = ts.transpileModule(fs.readFileSync(from, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    fs.mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
    fs.writeFileSync(path.join(out, rel.replace(/\.ts$/, '.js')), js);
  };
  for (const rel of ['ledger', 'contracts', 'errors.ts']) copy(rel);
  const script = path.join(out, 'child.js');
  fs.writeFileSync(script, CHILD);
  return script;
}

export interface Child {
  proc: ChildProcessWithoutNullStreams;
  /** Resolves with the next JSON line the child prints. */
  next(): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Kills children a failed test left behind (e.g. one still holding a lock). */
export function killChildren(): void {
  for (const proc of running) proc.kill('SIGKILL');
  running.clear();
}

export function startChild(script: string, args: string[]): Child {
  const proc = spawn(process.execPath, [script, ...args], { stdio: 'pipe' });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<(v: Record<string, unknown>) => void> = [];
  let buf = '';
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const msg = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(msg);
      else lines.push(msg);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    exited,
    next: () => {
      const ready = lines.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        waiters.push(resolve);
        void exited.then((code) => reject(new Error(`child exited with ${code} before printing; stderr: ${stderr}`)));
      });
    },
  };
}
