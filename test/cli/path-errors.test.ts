// The table that turns Node system errors into one line (src/errors.ts SYSTEM_ERRORS, src/apps/cli/path-errors.ts),
// for the codes the bad-invocation test cannot provoke on every machine (permissions mean nothing to root).
import { describe, expect, it } from 'vitest';
import { pathError, type PathUse } from '../../src/apps/cli/path-errors';
import { isSystemError, type SystemError } from '../../src/errors';

const state: PathUse = { subject: '--state /srv/ledgers', path: '/srv/ledgers', expects: 'a directory for the ledger (it is created if missing)' };
const sysError = (code: string, fields: { path?: string; syscall?: string } = {}) => Object.assign(new Error(`${code}: something, ${fields.syscall ?? ''}`), { code, ...fields });

describe('system errors at the CLI boundary', () => {
  it.each([
    ['EACCES', { path: '/srv/ledgers/admins-passkeys/ledger.jsonl', syscall: 'open' }, '--state /srv/ledgers: permission denied: /srv/ledgers/admins-passkeys/ledger.jsonl (EACCES, open). Check the owner and mode of the path, or use one this user may read and write.'],
    ['EROFS', { path: '/srv/ledgers/admins-passkeys', syscall: 'mkdir' }, '--state /srv/ledgers: read-only file system: /srv/ledgers/admins-passkeys (EROFS, mkdir). Use a location on a writable file system.'],
    ['ENOSPC', { syscall: 'write' }, '--state /srv/ledgers: no space left on device (ENOSPC, write). Free some space, or use a location on another disk, and run again.'],
    ['EDQUOT', { syscall: 'write' }, '--state /srv/ledgers: disk quota exceeded (EDQUOT, write). Free some space or raise the quota, and run again.'],
    ['EMFILE', { path: '/srv/ledgers/admins-passkeys/.lock', syscall: 'open' }, '--state /srv/ledgers: too many open files in this process: /srv/ledgers/admins-passkeys/.lock (EMFILE, open). Raise the open-file limit (ulimit -n) and run again.'],
    ['EACCES', { path: '/srv', syscall: 'mkdir' }, '--state /srv/ledgers: permission denied: /srv (EACCES, mkdir). Check the owner and mode of the path, or use one this user may read and write.'],
    ['ENOENT', { path: '/srv/ledgers', syscall: 'scandir' }, '--state /srv/ledgers: no such file or directory (ENOENT, scandir). Pass a directory for the ledger (it is created if missing).'],
  ])('%s %j', (code, fields, line) => {
    const e = sysError(code, fields);
    expect(isSystemError(e)).toBe(true);
    const p = pathError(e as SystemError, state);
    expect(p.message).toBe(line);
    expect(p.message).not.toContain('\n');
    expect(p.hint).toBeUndefined();
  });

  it('names the failing path, not the flag, when the failure is elsewhere', () => {
    const e = sysError('EACCES', { path: '/etc/campaign/other.yaml', syscall: 'open' }) as SystemError;
    expect(pathError(e, state).message).toBe('/etc/campaign/other.yaml: permission denied (EACCES, open). Check the owner and mode of the path, or use one this user may read and write.');
    expect(pathError(sysError('ENOSPC', { syscall: 'write' }) as SystemError).message).toBe('no space left on device (ENOSPC, write). Free some space, or use a location on another disk, and run again.');
  });

  it('knows only the codes of its table: anything else stays a bug report', () => {
    for (const code of ['ECONNRESET', 'ERR_INVALID_ARG_TYPE', 'EPIPE', undefined]) expect(isSystemError(sysError(String(code)))).toBe(false);
    expect(isSystemError({ code: 'ENOSPC' })).toBe(false);
  });
});
