import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CHAIN_GENESIS, ChainWalker, FileStore, LedgerCorruptError, LockHeldError, SnapshotCorruptError, chainLine, type LedgerEvent } from '../../src/ledger';
import { buildChildScript, killChildren, startChild } from './child-process';
import { describeLedgerStore, ev, field } from './ledger-store-suite';

const NOW = '2026-12-01T06:00:00.000Z';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-store-'));
}

describeLedgerStore('file store', async () => {
  const dir = tempDir();
  const store = new FileStore({ dir, pollMs: 10 });
  return {
    store,
    appendRaw: async (campaign, text) => {
      fs.mkdirSync(path.join(dir, campaign), { recursive: true });
      fs.appendFileSync(path.join(dir, campaign, 'ledger.jsonl'), text);
    },
    rawBytes: async (campaign) => {
      const file = path.join(dir, campaign, 'ledger.jsonl');
      return fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
    },
    reopen: () => new FileStore({ dir, pollMs: 10 }),
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

describe('file store on disk', () => {
  let dir: string;
  let store: FileStore;
  let warnings: string[];
  const campaignDir = (): string => path.join(dir, 'admins-passkeys');
  const ledger = (): string => path.join(campaignDir(), 'ledger.jsonl');
  const lockPath = (): string => path.join(campaignDir(), '.lock');

  beforeEach(() => {
    dir = tempDir();
    warnings = [];
    store = new FileStore({ dir, pollMs: 10, onWarning: (m) => warnings.push(m) });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes one JSON object per line under DIR/<campaign>/ledger.jsonl', async () => {
    await store.append('admins-passkeys', [ev('a', { userId: 'u1' }), ev('b')]);
    // Each line ends with its hash chain member: the first follows the empty ledger, the second the first.
    const a = chainLine(CHAIN_GENESIS, `{"v":1,"type":"a","at":"${NOW}","userId":"u1"}`);
    const b = chainLine(a.h, `{"v":1,"type":"b","at":"${NOW}"}`);
    expect(fs.readFileSync(ledger(), 'utf8')).toBe(
      `{"v":1,"type":"a","at":"${NOW}","userId":"u1","h":"${a.h}"}\n{"v":1,"type":"b","at":"${NOW}","h":"${b.h}"}\n`,
    );
  });

  it('defaults the state directory to .campaign-state', () => {
    expect(new FileStore().dir).toBe('.campaign-state');
  });

  describe('partial trailing line', () => {
    it('names the file and line in the warning and moves the partial tail aside before the next append', async () => {
      await store.append('admins-passkeys', [ev('one'), ev('two')]);
      fs.appendFileSync(ledger(), '{"v":1,"type":"thr');
      const read = await store.read('admins-passkeys');
      expect(read.warnings).toEqual([
        `${ledger()}:3: partial trailing line (18 bytes without a final newline, most likely an interrupted write) was ignored; ` +
          'the next append moves it to ledger.jsonl.corrupt-<timestamp> and continues after the last complete line.',
      ]);

      await store.append('admins-passkeys', [ev('three')]);
      const aside = fs.readdirSync(campaignDir()).filter((n) => n.startsWith('ledger.jsonl.corrupt-'));
      expect(aside).toHaveLength(1);
      expect(aside[0]).toMatch(/^ledger\.jsonl\.corrupt-\d{4}-\d\d-\d\dT\d{6}\.\d{3}Z$/);
      expect(fs.readFileSync(path.join(campaignDir(), aside[0]), 'utf8')).toBe('{"v":1,"type":"thr');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('moved a partial trailing line (18 bytes');
      const text = fs.readFileSync(ledger(), 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as LedgerEvent).type)).toEqual(['one', 'two', 'three']);
    });

    it('treats a complete-looking last line without its newline as partial too', async () => {
      await store.append('admins-passkeys', [ev('one')]);
      fs.appendFileSync(ledger(), JSON.stringify(ev('two')));
      const read = await store.read('admins-passkeys');
      expect(read.events.map((e) => e.type)).toEqual(['one']);
      expect(read.warnings[0]).toMatch(/:2: partial trailing line/);
    });

    it('recovers a ledger that holds nothing but a partial line', async () => {
      fs.mkdirSync(campaignDir(), { recursive: true });
      fs.writeFileSync(ledger(), '\u0000\u0000\u0000');
      expect((await store.read('admins-passkeys')).warnings[0]).toMatch(/ledger\.jsonl:1: partial trailing line \(3 bytes/);
      await store.append('admins-passkeys', [ev('first')]);
      expect(await store.read('admins-passkeys')).toEqual({ events: [ev('first')], warnings: [] });
    });

    it('finds the last newline when the partial tail is longer than one read chunk', async () => {
      await store.append('admins-passkeys', [ev('one')]);
      fs.appendFileSync(ledger(), 'x'.repeat(200_000));
      await store.append('admins-passkeys', [ev('two')]);
      expect((await store.read('admins-passkeys')).events.map((e) => e.type)).toEqual(['one', 'two']);
      const aside = fs.readdirSync(campaignDir()).filter((n) => n.startsWith('ledger.jsonl.corrupt-'));
      expect(fs.statSync(path.join(campaignDir(), aside[0])).size).toBe(200_000);
    });
  });

  describe('corrupt complete lines', () => {
    const cases: Array<{ name: string; text: string; line: number; problem: string }> = [
      { name: 'refuses invalid JSON in the middle', text: `${JSON.stringify(ev('a'))}\nnot json\n${JSON.stringify(ev('c'))}\n`, line: 2, problem: 'not valid JSON' },
      { name: 'refuses an empty line in the middle', text: `${JSON.stringify(ev('a'))}\n\n${JSON.stringify(ev('c'))}\n`, line: 2, problem: 'empty line' },
      { name: 'refuses a line without the event envelope', text: `${JSON.stringify(ev('a'))}\n${JSON.stringify({ v: 1, at: NOW })}\n`, line: 2, problem: '"type" must be a non-empty string' },
      { name: 'refuses a newline-terminated corrupt last line (not a partial write)', text: `${JSON.stringify(ev('a'))}\n{"v":1,\n`, line: 2, problem: 'not valid JSON' },
      { name: 'refuses corruption on the first line', text: `[]\n${JSON.stringify(ev('b'))}\n`, line: 1, problem: 'not a JSON object' },
    ];
    it.each(cases)('$name with file and line number', async ({ text, line, problem }) => {
      fs.mkdirSync(campaignDir(), { recursive: true });
      fs.writeFileSync(ledger(), text);
      const err = await store.read('admins-passkeys').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LedgerCorruptError);
      expect(err).toMatchObject({ file: ledger(), line, code: 'LedgerCorrupt', retryable: false });
      expect((err as Error).message).toContain(`${ledger()}:${line}: ledger line is not a valid event (${problem}`);
    });
  });

  describe('lock file', () => {
    it('records pid, host, owner and start time in DIR/<campaign>/.lock and removes it on release', async () => {
      const lock = await store.acquireLock('admins-passkeys', { owner: 'reconcile' });
      const onDisk = JSON.parse(fs.readFileSync(lockPath(), 'utf8')) as Record<string, unknown>;
      expect(onDisk).toMatchObject({ pid: process.pid, host: os.hostname(), owner: 'reconcile', startedAt: lock.info.startedAt });
      await lock.release();
      expect(fs.existsSync(lockPath())).toBe(false);
    });

    it('says how to clear a stale lock', async () => {
      const lock = await store.acquireLock('admins-passkeys', { owner: 'reconcile' });
      const err = (await store.acquireLock('admins-passkeys', { owner: 'postpone' }).catch((e: unknown) => e)) as LockHeldError;
      expect(err.message).toBe(
        `campaign "admins-passkeys" is locked by owner "reconcile" (pid ${process.pid} on host ${os.hostname()}) since ${lock.info.startedAt}; waited ${err.waitedMs} ms. ` +
          'Another run is probably in progress: wait for it to finish. ' +
          `If that process is gone, delete ${lockPath()} (a lock is also taken over automatically once its pid is dead on this host or it is older than 6 h).`,
      );
      await lock.release();
    });

    const writeLock = (info: Record<string, unknown>): void => {
      fs.mkdirSync(campaignDir(), { recursive: true });
      fs.writeFileSync(lockPath(), JSON.stringify({ token: 'someone-else', ...info }));
    };
    const deadPid = (): number => {
      const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
      return Number(r.stdout.toString());
    };
    const recent = (): string => new Date(Date.now() - 60_000).toISOString();
    const old = (): string => new Date(Date.now() - 7 * 3_600_000).toISOString();

    const staleCases = [
      { name: 'takes over the lock of a dead pid on this host', lock: () => ({ pid: deadPid(), host: os.hostname(), owner: 'crashed', startedAt: recent() }), because: /is no longer running on this host/ },
      { name: 'takes over a lock older than the maximum age even if its pid lives', lock: () => ({ pid: process.pid, host: os.hostname(), owner: 'hung', startedAt: old() }), because: /more than the maximum lock age of 360 min/ },
      { name: 'takes over an old lock from another host', lock: () => ({ pid: 1, host: 'other-host', owner: 'remote', startedAt: old() }), because: /more than the maximum lock age/ },
    ];
    it.each(staleCases)('$name and reports a warning', async ({ lock, because }) => {
      const stale = lock();
      writeLock(stale);
      const taken = await store.acquireLock('admins-passkeys', { owner: 'reconcile' });
      expect(taken.warnings).toHaveLength(1);
      expect(taken.warnings[0]).toContain(`took over a stale lock of campaign "admins-passkeys" held by owner "${stale.owner}" (pid ${stale.pid} on host ${stale.host})`);
      expect(taken.warnings[0]).toMatch(because);
      expect(warnings).toEqual(taken.warnings);
      expect(JSON.parse(fs.readFileSync(lockPath(), 'utf8'))).toMatchObject({ owner: 'reconcile', pid: process.pid });
      expect(fs.readdirSync(campaignDir()).filter((n) => n.startsWith('.lock.'))).toEqual([]);
      await taken.release();
    });

    const liveCases = [
      { name: 'respects a recent lock from another host (its pid cannot be checked)', lock: () => ({ pid: deadPid(), host: 'other-host', owner: 'remote', startedAt: recent() }) },
      { name: 'respects a recent lock of a live pid on this host', lock: () => ({ pid: process.ppid, host: os.hostname(), owner: 'parent', startedAt: recent() }) },
    ];
    it.each(liveCases)('$name', async ({ lock }) => {
      const held = lock();
      writeLock(held);
      const err = await store.acquireLock('admins-passkeys', { owner: 'reconcile', waitMs: 50 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockHeldError);
      expect((err as LockHeldError).holder).toEqual({ pid: held.pid, host: held.host, owner: held.owner, startedAt: held.startedAt });
    });

    it('uses a configurable maximum lock age', async () => {
      const short = new FileStore({ dir, lockMaxAgeMs: 30_000 });
      writeLock({ pid: process.pid, host: os.hostname(), owner: 'slow', startedAt: recent() });
      const lock = await short.acquireLock('admins-passkeys', { owner: 'reconcile' });
      expect(lock.warnings[0]).toMatch(/more than the maximum lock age of 1 min/);
      await lock.release();
    });

    // Older builds created the lock file and then wrote it; one killed in between left an empty lock that made
    // every run of the next 5 s fail with "locked by a process that has not finished writing the lock file".
    const leftovers = [
      { name: 'an empty lock file', content: '', because: /the lock file is empty; this build writes lock files whole/ },
      { name: 'a lock file cut short', content: '{"pid":1234,"host":"h', because: /the lock file is 21 bytes that are not a lock record/ },
    ];
    it.each(leftovers)('takes over $name left by a writer that died mid-write at once, with a warning', async ({ content, because }) => {
      fs.mkdirSync(campaignDir(), { recursive: true });
      fs.writeFileSync(lockPath(), content);
      const lock = await store.acquireLock('admins-passkeys', { owner: 'reconcile' });
      expect(lock.warnings).toEqual([expect.stringContaining(`took over a stale lock of campaign "admins-passkeys" held by an unknown holder (unreadable lock file)`)]);
      expect(lock.warnings[0]).toMatch(because);
      expect(JSON.parse(fs.readFileSync(lockPath(), 'utf8'))).toMatchObject({ owner: 'reconcile', pid: process.pid });
      await lock.release();
    });

    it('writes the lock through a temp file it removes, and sweeps temp files abandoned by killed writers', async () => {
      fs.mkdirSync(campaignDir(), { recursive: true });
      const abandoned = path.join(campaignDir(), '.lock.tmp-99999-abcdef');
      const fresh = path.join(campaignDir(), '.lock.tmp-99998-abcdef');
      fs.writeFileSync(abandoned, '{"pid":99999}');
      fs.writeFileSync(fresh, '{"pid":99998}');
      const past = new Date(Date.now() - 120_000);
      fs.utimesSync(abandoned, past, past);
      const lock = await store.acquireLock('admins-passkeys', { owner: 'reconcile' });
      expect(lock.warnings).toEqual([]);
      // The fresh one may belong to a writer about to link it (and fail: the lock is ours); it is left alone.
      expect(fs.readdirSync(campaignDir()).filter((n) => n.startsWith('.lock')).sort()).toEqual(['.lock', '.lock.tmp-99998-abcdef']);
      await lock.release();
    });

    it('does not remove a lock that another run took over', async () => {
      const mine = await store.acquireLock('admins-passkeys', { owner: 'slow' });
      writeLock({ pid: process.pid, host: os.hostname(), owner: 'successor', startedAt: recent() });
      await mine.release();
      expect(JSON.parse(fs.readFileSync(lockPath(), 'utf8'))).toMatchObject({ owner: 'successor' });
    });
  });

  describe('across processes', () => {
    let script: string;
    beforeAll(() => {
      script = buildChildScript();
    });
    afterEach(() => killChildren());
    afterAll(() => fs.rmSync(path.dirname(script), { recursive: true, force: true }));

    it('keeps this process out while another process holds the lock, then lets it in', async () => {
      const child = startChild(script, [dir, 'hold', 'admins-passkeys']);
      expect(await child.next()).toMatchObject({ locked: true });
      const err = await store.acquireLock('admins-passkeys', { owner: 'parent', waitMs: 100 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockHeldError);
      expect((err as LockHeldError).message).toContain(`locked by owner "child-hold" (pid ${child.proc.pid} on host ${os.hostname()})`);
      const waiting = store.acquireLock('admins-passkeys', { owner: 'parent', waitMs: 10_000 });
      child.proc.stdin.write('release\n');
      expect(await child.next()).toEqual({ released: true });
      const lock = await waiting;
      expect(lock.warnings).toEqual([]);
      await lock.release();
      expect(await child.exited).toBe(0);
    });

    it('keeps another process out while this process holds the lock', async () => {
      const lock = await store.acquireLock('admins-passkeys', { owner: 'parent' });
      const child = startChild(script, [dir, 'try', 'admins-passkeys', '100']);
      const result = await child.next();
      expect(result).toMatchObject({ ok: false, name: 'LockHeldError' });
      expect(result.message).toContain(`locked by owner "parent" (pid ${process.pid}`);
      await lock.release();
      const second = startChild(script, [dir, 'try', 'admins-passkeys', '0']);
      expect(await second.next()).toEqual({ ok: true, warnings: [] });
    });

    it('is not blocked by a process that was killed while writing its lock file', async () => {
      // The child SIGKILLs itself right after opening the file its lock record goes into, before writing it.
      const child = startChild(script, [dir, 'die-while-locking', 'admins-passkeys']);
      await child.exited;
      expect(child.proc.signalCode).toBe('SIGKILL');
      expect(fs.existsSync(lockPath()) ? fs.readFileSync(lockPath(), 'utf8') : 'no lock file').toBe('no lock file');
      const lock = await store.acquireLock('admins-passkeys', { owner: 'parent' });
      expect(lock.info.owner).toBe('parent');
      await lock.release();
    });

    it('takes over the lock of a process that was killed while holding it', async () => {
      const child = startChild(script, [dir, 'hold', 'admins-passkeys']);
      expect(await child.next()).toMatchObject({ locked: true });
      child.proc.kill('SIGKILL');
      await child.exited;
      const lock = await store.acquireLock('admins-passkeys', { owner: 'parent' });
      expect(lock.warnings[0]).toContain(`pid ${child.proc.pid} is no longer running on this host`);
      await lock.release();
    });

    it('serializes four processes racing for the lock: no lost update, every append kept', async () => {
      const counter = path.join(dir, 'counter');
      fs.writeFileSync(counter, '0');
      const iterations = 15;
      const children = Array.from({ length: 4 }, () =>
        startChild(script, [dir, 'count', 'admins-passkeys', JSON.stringify({ iterations, counter })]),
      );
      for (const c of children) expect(await c.next()).toEqual({ done: true });
      expect(Number(fs.readFileSync(counter, 'utf8'))).toBe(4 * iterations);
      const { events, warnings: readWarnings } = await store.read('admins-passkeys');
      expect(readWarnings).toEqual([]);
      expect(events).toHaveLength(4 * iterations);
      for (const c of children) {
        const mine = events.filter((e) => field(e, 'pid') === c.proc.pid).map((e) => field(e, 'i'));
        expect(mine).toEqual(Array.from({ length: iterations }, (_, i) => i));
      }
      // Each process continued the chain from the line another one wrote last.
      const chain = new ChainWalker();
      for (const line of fs.readFileSync(ledger(), 'utf8').split('\n').slice(0, -1)) chain.line(line);
      expect({ broken: chain.broken, startsAt: chain.startsAt, lines: chain.lines }).toEqual({ broken: null, startsAt: 1, lines: 4 * iterations });
    });
  });

  describe('archive', () => {
    it('keeps the old ledger byte for byte under archive/<timestamp>/ and leaves the lock alone', async () => {
      await store.append('admins-passkeys', [ev('one'), ev('two')]);
      await store.writeSnapshot('admins-passkeys', 'observation', { users: 2 });
      const before = fs.readFileSync(ledger());
      const lock = await store.acquireLock('admins-passkeys', { owner: 'reset' });
      const where = await store.archive('admins-passkeys', new Date(NOW));
      expect(where).toBe(path.join(campaignDir(), 'archive', '2026-12-01T060000.000Z'));
      expect(fs.readFileSync(path.join(where, 'ledger.jsonl'))).toEqual(before);
      expect(JSON.parse(fs.readFileSync(path.join(where, 'snapshots', 'observation.json'), 'utf8'))).toEqual({ users: 2 });
      expect(fs.existsSync(ledger())).toBe(false);
      expect(fs.existsSync(lockPath())).toBe(true);
      await lock.release();
    });

    it('numbers a second archive of the same instant instead of overwriting the first', async () => {
      await store.append('admins-passkeys', [ev('one')]);
      const first = await store.archive('admins-passkeys', new Date(NOW));
      await store.append('admins-passkeys', [ev('two')]);
      const second = await store.archive('admins-passkeys', new Date(NOW));
      expect(second).toBe(`${first}-2`);
      expect(fs.readFileSync(path.join(first, 'ledger.jsonl'), 'utf8')).toContain('"one"');
      expect(fs.readFileSync(path.join(second, 'ledger.jsonl'), 'utf8')).toContain('"two"');
    });

    it('with an opening, keeps the old ledger byte for byte in the archive and puts the new one in its place', async () => {
      await store.append('admins-passkeys', [ev('one'), ev('two')]);
      const before = fs.readFileSync(ledger());
      const where = await store.archive('admins-passkeys', new Date(NOW), (at) => [ev('campaignArchived', { archive: at })]);
      expect(fs.readFileSync(path.join(where, 'ledger.jsonl'))).toEqual(before);
      // The new ledger's chain starts afresh.
      expect(fs.readFileSync(ledger(), 'utf8')).toBe(`${chainLine(CHAIN_GENESIS, JSON.stringify(ev('campaignArchived', { archive: where }))).line}\n`);
      expect(fs.readdirSync(campaignDir()).sort()).toEqual(['archive', 'ledger.jsonl']);
    });

    it('with an opening, a crash before the new ledger is in place leaves the old one, and archiving again finishes', async () => {
      await store.append('admins-passkeys', [ev('one')]);
      const before = fs.readFileSync(ledger());
      const rename = fs.promises.rename;
      const spy = vi.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
        if (to === ledger()) throw new Error('killed');
        return rename(from, to);
      });
      await expect(store.archive('admins-passkeys', new Date(NOW), () => [ev('campaignReset')])).rejects.toThrow('killed');
      spy.mockRestore();
      expect(fs.readFileSync(ledger())).toEqual(before);
      const where = await store.archive('admins-passkeys', new Date(NOW), () => [ev('campaignReset')]);
      expect(where.endsWith('-2')).toBe(true);
      expect(fs.readFileSync(path.join(where, 'ledger.jsonl'))).toEqual(before);
      expect((await store.read('admins-passkeys')).events).toEqual([ev('campaignReset')]);
    });

    it('takes the corrupt tails of the old ledger along', async () => {
      await store.append('admins-passkeys', [ev('one')]);
      fs.appendFileSync(ledger(), 'partial');
      await store.append('admins-passkeys', [ev('two')]);
      const where = await store.archive('admins-passkeys', new Date(NOW));
      expect(fs.readdirSync(where).sort()).toEqual(['ledger.jsonl', expect.stringMatching(/^ledger\.jsonl\.corrupt-/)]);
    });
  });

  describe('snapshots', () => {
    it('writes DIR/<campaign>/snapshots/<name>.json and leaves no temp file', async () => {
      await store.writeSnapshot('admins-passkeys', 'observation', { a: 1 });
      expect(fs.readdirSync(path.join(campaignDir(), 'snapshots'))).toEqual(['observation.json']);
      expect(fs.readFileSync(path.join(campaignDir(), 'snapshots', 'observation.json'), 'utf8')).toBe('{"a":1}\n');
    });

    it('stages a snapshot as a temp file that is never read, renamed on commit and removed on discard', async () => {
      const snaps = path.join(campaignDir(), 'snapshots');
      await store.writeSnapshot('admins-passkeys', 'observation', { a: 1 });
      const staged = await store.stageSnapshot('admins-passkeys', 'observation', { a: 2 });
      const temps = fs.readdirSync(snaps).filter((n) => n !== 'observation.json');
      expect(temps).toEqual([expect.stringMatching(new RegExp(`^\\.observation\\.json\\.tmp-${process.pid}-[0-9a-f]+$`))]);
      expect(fs.readFileSync(path.join(snaps, temps[0]), 'utf8')).toBe('{"a":2}\n');
      expect(fs.readFileSync(path.join(snaps, 'observation.json'), 'utf8')).toBe('{"a":1}\n');
      await staged.commit();
      expect(fs.readdirSync(snaps)).toEqual(['observation.json']);
      expect(fs.readFileSync(path.join(snaps, 'observation.json'), 'utf8')).toBe('{"a":2}\n');
      await (await store.stageSnapshot('admins-passkeys', 'observation', { a: 3 })).discard();
      expect(fs.readdirSync(snaps)).toEqual(['observation.json']);
      expect(await store.readSnapshot('admins-passkeys', 'observation')).toEqual({ a: 2 });
    });

    it('leaves no directory it created behind when the first snapshot it stages is discarded', async () => {
      await (await store.stageSnapshot('admins-passkeys', 'observation', { a: 1 })).discard();
      expect(fs.existsSync(campaignDir())).toBe(false);
      await store.append('admins-passkeys', [ev('runStarted', { runId: 'r1' })]);
      await (await store.stageSnapshot('admins-passkeys', 'observation', { a: 1 })).discard();
      expect(fs.readdirSync(campaignDir())).toEqual(['ledger.jsonl']);
    });

    it('removes the staged snapshot of a writer that is gone (killed before commit), not that of one still running', async () => {
      const snaps = path.join(campaignDir(), 'snapshots');
      fs.mkdirSync(snaps, { recursive: true });
      // A pid no process has: the kernel's pid_max is at most 2^22.
      const gone = '.observation.json.tmp-4194399-abcdef';
      const running = `.observation.json.tmp-${process.ppid}-abcdef`;
      const other = '.delivery.json.tmp-4194399-abcdef';
      for (const n of [gone, running, other]) fs.writeFileSync(path.join(snaps, n), '{"partial":');
      // Never read as the snapshot.
      expect(await store.readSnapshot('admins-passkeys', 'observation')).toBeNull();
      const staged = await store.stageSnapshot('admins-passkeys', 'observation', { a: 1 });
      expect(fs.readdirSync(snaps)).not.toContain(gone);
      expect(fs.readdirSync(snaps)).toEqual(expect.arrayContaining([running, other]));
      await staged.commit();
      expect(fs.readdirSync(snaps).sort()).toEqual([running, other, 'observation.json'].sort());
      expect(await store.readSnapshot('admins-passkeys', 'observation')).toEqual({ a: 1 });
    });

    it('says a damaged snapshot can be deleted and rebuilt', async () => {
      fs.mkdirSync(path.join(campaignDir(), 'snapshots'), { recursive: true });
      fs.writeFileSync(path.join(campaignDir(), 'snapshots', 'observation.json'), '{"a":');
      const err = await store.readSnapshot('admins-passkeys', 'observation').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SnapshotCorruptError);
      expect((err as Error).message).toMatch(/observation\.json: snapshot is not valid JSON .* delete the file and run again to rebuild it\.$/);
    });

    it('rejects undefined, which JSON cannot hold', async () => {
      await expect(store.writeSnapshot('admins-passkeys', 'observation', undefined)).rejects.toThrow(/must be a JSON value/);
    });
  });

  it('reads back 100k events in order', async () => {
    const total = 100_000;
    const batch = 10_000;
    const t0 = performance.now();
    for (let start = 0; start < total; start += batch) {
      await store.append(
        'admins-passkeys',
        Array.from({ length: batch }, (_, k) => ev('userEnteredStage', { seq: start + k, userId: `user-${(start + k) % 5000}`, stage: 'passkeyRegistration' })),
      );
    }
    const t1 = performance.now();
    const { events, warnings: readWarnings } = await store.read('admins-passkeys');
    const t2 = performance.now();
    expect(readWarnings).toEqual([]);
    expect(events).toHaveLength(total);
    for (let i = 0; i < total; i++) if (field(events[i], 'seq') !== i) expect(field(events[i], 'seq')).toBe(i);
    const mb = (fs.statSync(ledger()).size / 1e6).toFixed(1);
    console.info(`ledger of ${total} events (${mb} MB): append ${(t1 - t0).toFixed(0)} ms in ${total / batch} batches, read ${(t2 - t1).toFixed(0)} ms`);
  });
});
