// Issue #12 item 7: a SAS signature or storage key never appears in what the CLI prints (errors, warnings,
// --json output) nor in the Functions app's log. One function, redactSecrets (src/errors.ts), applied at the
// CLI's output boundary (src/apps/cli/io.ts), in the Functions log (src/apps/functions/app.ts) and in the
// messages src/ledger/open-store.ts builds from a --state value.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { redactSecrets } from '../../src/errors';
import { FIXTURE_CAMPAIGNS, FIXTURE_CWD } from '../helpers/campaigns';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'campaign');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'redaction-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('redactSecrets', () => {
  it.each([
    ['azblob://acct/ctr?sig=SECRET', 'azblob://acct/ctr?sig=***'],
    ['https://acct.blob.core.windows.net/ctr?sv=2022-11-02&ss=b&sig=SECRET%2Bx%3D&se=2027-01-01', 'https://acct.blob.core.windows.net/ctr?sv=2022-11-02&ss=b&sig=***&se=2027-01-01'],
    ['?SIG=SECRET', '?SIG=***'],
    ['?Sig = SECRET&sp=r', '?Sig = ***&sp=r'],
    ['https://x/?a=1%26sig%3DSECRET', 'https://x/?a=1%26sig%3D***'],
    ['AccountName=acct;AccountKey=SECRET==;Container=ledger', 'AccountName=acct;AccountKey=***;Container=ledger'],
    ['AccountName=acct; AccountKey = SECRET== ;Container=ledger', 'AccountName=acct; AccountKey = *** ;Container=ledger'],
    ['accountkey=SECRET', 'accountkey=***'],
    ['BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=1&ss=b&sig=SECRET;Container=x', 'BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=***;Container=x'],
    ['SHAREDACCESSSIGNATURE =  sv=1&sig=SECRET', 'SHAREDACCESSSIGNATURE =  ***'],
    ['Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=SECRET', 'Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=***'],
    ['{"error":"GET https://x/?sig=SECRET failed","key":"AccountKey=SECRET"}', '{"error":"GET https://x/?sig=*** failed","key":"AccountKey=***"}'],
    ['two: sig=SECRET and sig=SECRET', 'two: sig=*** and sig=***'],
    // Inside a JSON string the escape before a quote is kept, so the JSON stays valid.
    [JSON.stringify({ m: 'unknown field "AccountKey = SECRET"' }), JSON.stringify({ m: 'unknown field "AccountKey = ***"' })],
    [JSON.stringify({ m: 'at https://x/?sig=SECRET\nnext' }), JSON.stringify({ m: 'at https://x/?sig=***\nnext' })],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
    expect(redactSecrets(input)).not.toContain('SECRET');
  });

  it('leaves text without secrets alone', () => {
    for (const text of ['signature=abc', 'design=x', 'xsig=1', 'AccountName=acct;Container=ledger', 'no secret here', 'sig=']) expect(redactSecrets(text)).toBe(text);
  });
});

function campaign(args: string[], env: Record<string, string> = {}) {
  // From the fixtures' directory: `--campaign admins-passkeys` is the fixture copy, whatever campaigns/ holds.
  const r = spawnSync(BIN, args, { cwd: FIXTURE_CWD, encoding: 'utf8', env: { ...process.env, CAMPAIGN_STATE: '', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the CLI never prints a secret', () => {
  it.each([
    { name: 'azblob:// with a SAS', state: 'azblob://acct/ctr?sig=SECRET', shown: '--state azblob://acct/ctr?sig=***: an azblob:// location takes no query' },
    { name: 'an https URL with a SAS', state: 'https://acct.blob.core.windows.net/ctr?sv=1&sig=SECRET', shown: '--state https://acct.blob.core.windows.net/ctr?sv=1&sig=***: "https://" locations are not supported.' },
    { name: 'a file URL with a SAS', state: 'file://host/x?sig=SECRET', shown: '--state file://host/x?sig=***: not a usable file URL' },
    { name: 'a connection string, spaces around = of AccountKey', state: 'AccountName=acct;AccountKey = SECRET==;Container=BAD_', shown: '--state AccountName=acct;AccountKey = ***;Container=BAD_: "BAD_" is not a valid container name.' },
    { name: 'a connection string, spaces around = of SharedAccessSignature', state: 'SharedAccessSignature = sv=1&sig=SECRET;Bogus=1', shown: '--state SharedAccessSignature = ***;Bogus=1: unknown connection string key "Bogus".' },
    { name: 'a connection string, sig= in BlobEndpoint, upper case', state: 'BlobEndpoint=https://acct.blob.core.windows.net/?SIG=SECRET;Container=x', shown: '--state BlobEndpoint=https://acct.blob.core.windows.net/?SIG=***;Container=x: the connection string has no credentials.' },
    { name: 'a directory whose name holds sig= (a file-system error)', state: '/dev/null/sig=SECRET', shown: '--state /dev/null/sig=***: not a directory: /dev/null (ENOTDIR, open).' },
  ])('--state: $name', ({ state, shown }) => {
    const r = campaign(['status', '--campaign', 'admins-passkeys', '--state', state]);
    expect(r.code).toBe(2);
    expect(r.out + r.err).not.toContain('SECRET');
    expect(r.err).toContain(`campaign status: ${shown}`);
  });

  it('CAMPAIGN_STATE is redacted like --state', () => {
    const r = campaign(['history', '--campaign', 'admins-passkeys'], { CAMPAIGN_STATE: 'azblob://acct/ctr?sig=SECRET' });
    expect(r.code).toBe(2);
    expect(r.out + r.err).not.toContain('SECRET');
    expect(r.err).toContain('campaign history: --state azblob://acct/ctr?sig=***: ');
  });

  it('--campaign and --graph-url values are redacted too', () => {
    const a = campaign(['status', '--campaign', 'nowhere/x?sig=SECRET.yaml']);
    expect(a.code).toBe(2);
    expect(a.err).toBe('campaign status: --campaign nowhere/x?sig=***: no such file.\n');
    const b = campaign(['plan', '--campaign', 'admins-passkeys', '--graph-url', 'not a url sig=SECRET']);
    expect(b.code).toBe(2);
    expect(b.out + b.err).not.toContain('SECRET');
  });

  it('--json output: validate --format json of a file whose unknown field holds a key', () => {
    const file = path.join(tmp, 'admins-passkeys.yaml');
    fs.writeFileSync(file, fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8').replace('spec:\n', 'spec:\n  "AccountKey = SECRET": 1\n'));
    const r = campaign(['validate', '--format', 'json', file]);
    expect(r.code).toBe(1);
    expect(r.out + r.err).not.toContain('SECRET');
    expect(JSON.parse(r.out).files[0].errors.map((d: { message: string }) => d.message)).toContainEqual(expect.stringContaining('AccountKey = ***'));
  });
});

describe('the Functions app log never holds a secret', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('the timer: the logged failure and the error handed to the host are redacted', async () => {
    // The compiled app, as deployed: it loads ./scheduled next to it and campaigns/ from the package root.
    const { register } = createRequire(__filename)(path.join(ROOT, 'dist/apps/functions/app.js')) as typeof import('../../src/apps/functions/app');
    const handlers = new Map<string, (...args: unknown[]) => Promise<unknown>>();
    register({
      timer: (name, o) => handlers.set(name, o.handler as (...args: unknown[]) => Promise<unknown>),
      http: (name, o) => handlers.set(name, o.handler as (...args: unknown[]) => Promise<unknown>),
    });
    // A ledger directory below a file whose name holds a SAS: the store's own error message names that path.
    const blocker = path.join(tmp, 'sig=SECRET');
    fs.writeFileSync(blocker, '');
    vi.stubEnv('CAMPAIGN_NAMES', 'admins-passkeys');
    vi.stubEnv('CAMPAIGNS_DIR', path.relative(ROOT, FIXTURE_CAMPAIGNS));
    vi.stubEnv('CAMPAIGN_STATE', path.join(blocker, 'state'));
    vi.stubEnv('CAMPAIGN_GRAPH_URL', 'http://127.0.0.1:59999');
    vi.stubEnv('CAMPAIGN_POSTPONE_KEY', 'k'.repeat(48));
    const lines: string[] = [];
    const ctx = { log: (...a: unknown[]) => lines.push(a.join(' ')), warn: (...a: unknown[]) => lines.push(a.join(' ')), error: (...a: unknown[]) => lines.push(a.join(' ')) };
    const failure = await handlers.get('reconcile')!(undefined, ctx).then(() => undefined, (e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    const logged = lines.join('\n');
    expect(logged).toContain('reconcile run failed');
    expect(logged).toContain('sig=***');
    expect(logged).not.toContain('SECRET');
    expect(String((failure as Error).message) + String((failure as Error).stack)).not.toContain('SECRET');
  });
});
