import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors';
import { BlobStore } from '../../src/ledger/blob/store';
import { FileStore } from '../../src/ledger/file/store';
import { openStore, parseStateSpec, type StorageCredential } from '../../src/ledger/open-store';
import { AZURITE_KEY, startAzurite, type Azurite } from './azurite';
import { ev } from './ledger-store-suite';

const CWD = path.resolve('/srv/campaigns');
const KEY = AZURITE_KEY;

describe('parseStateSpec', () => {
  const good = [
    { name: 'a relative directory, against cwd', spec: '.campaign-state', want: { kind: 'file', dir: path.join(CWD, '.campaign-state') } },
    { name: 'an absolute directory', spec: '/var/lib/campaign', want: { kind: 'file', dir: '/var/lib/campaign' } },
    { name: 'a file URL', spec: pathToFileURL('/var/lib/campaign').href, want: { kind: 'file', dir: '/var/lib/campaign' } },
    { name: 'a directory whose name has an equals sign', spec: 'state=old', want: { kind: 'file', dir: path.join(CWD, 'state=old') } },
    {
      name: 'an account and container',
      spec: 'azblob://contosoled1234/ledger',
      want: { kind: 'azblob', account: 'contosoled1234', container: 'ledger', prefix: '', accountUrl: 'https://contosoled1234.blob.core.windows.net' },
    },
    {
      name: 'an account, container and folder',
      spec: 'azblob://contosoled1234/ledger/prod/eu/',
      want: { kind: 'azblob', account: 'contosoled1234', container: 'ledger', prefix: 'prod/eu/', accountUrl: 'https://contosoled1234.blob.core.windows.net' },
    },
    {
      name: 'the emulator shorthand, with the default container',
      spec: 'UseDevelopmentStorage=true',
      want: { kind: 'connection-string', connectionString: 'UseDevelopmentStorage=true', container: 'ledger', prefix: '', description: 'container "ledger" of the local storage emulator' },
    },
    {
      name: 'a key connection string naming container and folder, keys in any case',
      spec: `defaultendpointsprotocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.windows.net;Container=audit;Prefix=prod`,
      want: {
        kind: 'connection-string',
        connectionString: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.windows.net`,
        container: 'audit', prefix: 'prod/', description: 'container "audit" of account acct',
      },
    },
    {
      name: 'a SAS connection string',
      spec: 'BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2024-11-04&sig=abc%3D',
      want: {
        kind: 'connection-string',
        connectionString: 'BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2024-11-04&sig=abc%3D',
        container: 'ledger', prefix: '', description: 'container "ledger" of https://acct.blob.core.windows.net/',
      },
    },
  ];
  it.each(good)('reads $name', ({ spec, want }) => {
    expect(parseStateSpec(spec, { cwd: CWD })).toEqual(want);
  });

  it('derives the endpoint from a configurable DNS suffix (sovereign clouds)', () => {
    expect(parseStateSpec('azblob://acct/ledger', { endpointSuffix: 'core.chinacloudapi.cn' })).toMatchObject({ accountUrl: 'https://acct.blob.core.chinacloudapi.cn' });
  });

  const bad = [
    { name: 'an empty location', spec: '', problem: /^--state : no state location given\.$/ },
    { name: 'blanks', spec: '   ', problem: /no state location given/ },
    { name: 'azblob without an account', spec: 'azblob://', problem: /the storage account name is missing/ },
    { name: 'azblob without a container', spec: 'azblob://contoso', problem: /^--state azblob:\/\/contoso: the container is missing\.$/ },
    { name: 'azblob with an empty container', spec: 'azblob://contoso/', problem: /the container is missing/ },
    { name: 'an upper-case account', spec: 'azblob://Contoso/ledger', problem: /"Contoso" is not a valid storage account name/ },
    { name: 'a too short account', spec: 'azblob://ab/ledger', problem: /"ab" is not a valid storage account name/ },
    { name: 'an account with a port', spec: 'azblob://contoso:443/ledger', problem: /"contoso:443" is not a valid storage account name/ },
    { name: 'an upper-case container', spec: 'azblob://contoso/Ledger', problem: /"Ledger" is not a valid container name/ },
    { name: 'a container with a double hyphen', spec: 'azblob://contoso/le--dger', problem: /"le--dger" is not a valid container name/ },
    { name: 'a folder that climbs out', spec: 'azblob://contoso/ledger/../other', problem: /the folder "\.\.\/other" is not a plain path inside the container/ },
    { name: 'a folder with an empty segment', spec: 'azblob://contoso/ledger/a//b', problem: /the folder "a\/\/b" is not a plain path/ },
    { name: 'a SAS on an azblob location', spec: 'azblob://contoso/ledger?sv=1&sig=secret', problem: /takes no query or fragment/ },
    { name: 'an https URL', spec: 'https://contoso.blob.core.windows.net/ledger', problem: /"https:\/\/" locations are not supported/, hint: /write azblob:\/\/ACCOUNT\/CONTAINER/ },
    { name: 'another scheme', spec: 's3://bucket/ledger', problem: /"s3:\/\/" locations are not supported/ },
    { name: 'a connection string without credentials', spec: 'AccountName=contoso', problem: /the connection string has no credentials/ },
    { name: 'a connection string with a key but no account', spec: `AccountKey=${KEY}`, problem: /no credentials/ },
    { name: 'UseDevelopmentStorage=false', spec: 'UseDevelopmentStorage=false', problem: /UseDevelopmentStorage must be "true" \(got "false"\)/ },
    { name: 'an account key that is not base64', spec: 'AccountName=contoso;AccountKey=not base64!', problem: /AccountKey is not base64/ },
    { name: 'an unknown key', spec: `AccountName=contoso;AccountKey=${KEY};Containr=audit`, problem: /unknown connection string key "Containr"/ },
    { name: 'a repeated key', spec: `AccountName=contoso;AccountName=other;AccountKey=${KEY}`, problem: /the key "AccountName" appears twice/ },
    { name: 'a part without a value', spec: `AccountName=contoso;AccountKey=${KEY};garbage`, problem: /"garbage" is not a key=value pair/ },
    { name: 'a blob endpoint that is not a URL', spec: 'BlobEndpoint=contoso;SharedAccessSignature=sv=1', problem: /BlobEndpoint "contoso" is not a URL/ },
    { name: 'a bad container in a connection string', spec: 'UseDevelopmentStorage=true;Container=A_B', problem: /"A_B" is not a valid container name/ },
  ];
  it.each(bad)('refuses $name with a usage error', ({ spec, problem, hint }) => {
    const err = (() => {
      try {
        parseStateSpec(spec, { cwd: CWD });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(problem);
    expect((err as UsageError).hint).toMatch(hint ?? /./);
  });

  it('never repeats an account key or SAS in a message', () => {
    const secret = 'c2VjcmV0LWtleS1ub3QtZm9yLWxvZ3M=';
    for (const spec of [`AccountName=contoso;AccountKey=${secret};Containr=x`, `BlobEndpoint=nope;SharedAccessSignature=sig=${secret}`]) {
      const err = (() => {
        try {
          parseStateSpec(spec);
        } catch (e) {
          return e as Error;
        }
        return null;
      })();
      expect(err?.message).toMatch(/=\*\*\*/);
      expect(err?.message).not.toContain(secret);
    }
  });

  // Issue #12 item 7: a SAS in a URL, any spacing around "=", any case; neither the message nor the hint.
  it.each([
    'azblob://acct/ctr?sig=SECRET',
    'azblob://acct/ctr?sv=2022-11-02&SIG=SECRET',
    'https://acct.blob.core.windows.net/ctr?sv=1&sig=SECRET',
    'file://host/x?sig=SECRET',
    'AccountName=acct;AccountKey = SECRET==;Containr=x',
    'AccountName=acct;accountkey= SECRET==;Container=BAD_',
    'SharedAccessSignature = sv=1&sig=SECRET;Bogus=1',
    'BlobEndpoint=https://acct.blob.core.windows.net/?sig=SECRET;Container=x',
    'BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=1&sig=SECRET;Container=x;Container=y',
  ])('never repeats the secret of %s', (spec) => {
    const err = (() => {
      try {
        parseStateSpec(spec);
      } catch (e) {
        return e as UsageError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect(err?.message).toMatch(/^--state .*\*\*\*/);
    expect(`${err?.message} ${err?.hint}`).not.toContain('SECRET');
  });
});

describe('openStore', () => {
  let azurite: Azurite;
  let tmp: string;
  beforeAll(async () => {
    azurite = await startAzurite();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'open-store-'));
  });
  afterAll(async () => {
    await azurite?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('opens a FileStore for a directory, relative to cwd', async () => {
    const store = await openStore('state', { cwd: tmp });
    expect(store).toBeInstanceOf(FileStore);
    expect((store as FileStore).dir).toBe(path.join(tmp, 'state'));
    await store.append('admins-passkeys', [ev('one')]);
    expect(fs.existsSync(path.join(tmp, 'state', 'admins-passkeys', 'ledger.jsonl'))).toBe(true);
  });

  it('opens a BlobStore on https://ACCOUNT.blob.core.windows.net with the given credential, without calling it yet', async () => {
    const calls: unknown[] = [];
    const credential: StorageCredential = {
      getToken: async (scopes) => {
        calls.push(scopes);
        return { token: 't', expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const store = await openStore('azblob://contosoled1234/ledger/prod', { credential });
    expect(store).toBeInstanceOf(BlobStore);
    const blob = store as BlobStore;
    expect(blob.container.url).toBe('https://contosoled1234.blob.core.windows.net/ledger');
    expect(blob.prefix).toBe('prod/');
    expect(blob.container.credential).toBe(credential);
    expect(calls).toEqual([]);
  });

  it('uses DefaultAzureCredential when no credential is given', async () => {
    const store = (await openStore('azblob://contosoled1234/ledger')) as BlobStore;
    expect(store.container.credential.constructor.name).toBe('DefaultAzureCredential');
  });

  it('opens a working BlobStore from a connection string, in the container and folder it names', async () => {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    await service.getContainerClient('audit').create();
    const store = await openStore(`${azurite.connectionString}Container=audit;Prefix=prod`, { pollMs: 10 });
    expect(store).toBeInstanceOf(BlobStore);
    await store.append('admins-passkeys', [ev('one')]);
    expect((await store.read('admins-passkeys')).events).toEqual([ev('one')]);
    const names: string[] = [];
    for await (const b of service.getContainerClient('audit').listBlobsFlat()) names.push(b.name);
    expect(names).toEqual(['prod/admins-passkeys/ledger.jsonl']);
  });

  it('passes lock settings on to the store it opens', async () => {
    await expect(openStore(azurite.connectionString, { leaseSeconds: 5 })).rejects.toThrow(/leaseSeconds must be a whole number from 15 to 60/);
  });

  it('checks the location before loading anything', async () => {
    await expect(openStore('azblob://contoso')).rejects.toBeInstanceOf(UsageError);
  });
});
