// Opens the ledger store named by `--state` (or CAMPAIGN_STATE):
//   a directory path                           → FileStore
//   azblob://ACCOUNT/CONTAINER[/prefix]        → BlobStore, DefaultAzureCredential, https://ACCOUNT.blob.core.windows.net
//   a connection string (DefaultEndpointsProtocol=…, UseDevelopmentStorage=true, BlobEndpoint=…;SharedAccessSignature=…)
//                                              → BlobStore; container from `Container=NAME` (default "ledger"), `Prefix=…`
// The Azure SDKs are loaded only for a blob location, so file-store commands start fast.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DefaultAzureCredential } from '@azure/identity';
import type { ContainerClient } from '@azure/storage-blob';
import { UsageError, redactSecrets } from '../errors';
// blob/ needs the storage SDK's types only, so this import loads no SDK.
import { BlobStore, type BlobStoreOptions } from './blob/store';
import { FileStore, type FileStoreOptions } from './file/store';
import type { LedgerStore } from './store';

/** The container the stack creates; used when a connection string names none. */
export const DEFAULT_CONTAINER = 'ledger';
export const DEFAULT_ENDPOINT_SUFFIX = 'core.windows.net';

/** Anything that gets Entra ID tokens, like DefaultAzureCredential (core-auth's TokenCredential). */
export type StorageCredential = Pick<DefaultAzureCredential, 'getToken'>;

export type StateLocation =
  | { kind: 'file'; dir: string }
  | { kind: 'azblob'; account: string; container: string; prefix: string; accountUrl: string }
  | { kind: 'connection-string'; connectionString: string; container: string; prefix: string; description: string };

export interface OpenStoreOptions extends Omit<FileStoreOptions, 'dir'>, Omit<BlobStoreOptions, 'container' | 'prefix'> {
  /** Base for a relative directory; default process.cwd(). */
  cwd?: string;
  /** Credential for azblob:// locations; default `new DefaultAzureCredential()` (managed identity in Azure). */
  credential?: StorageCredential;
  /** DNS suffix of the blob endpoint for azblob:// (sovereign clouds); default core.windows.net. */
  endpointSuffix?: string;
}

const SCHEME = /^([a-z][a-z0-9+.-]+):\/\//i;
const ACCOUNT = /^[a-z0-9]{3,24}$/;
const CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9_.=-]+$/;
/** Connection string keys the SDK reads, in the exact case it expects them. */
const CONNECTION_KEY_NAMES = [
  'DefaultEndpointsProtocol', 'UseDevelopmentStorage', 'DevelopmentStorageProxyUri', 'AccountName', 'AccountKey',
  'BlobEndpoint', 'SharedAccessSignature', 'EndpointSuffix',
];
const CONNECTION_KEYS = CONNECTION_KEY_NAMES.map((k) => k.toLowerCase());
/** Our own keys in a connection string; removed before the SDK sees it. */
const OWN_KEYS = ['container', 'prefix'];

const FORMS =
  'Use a directory path, azblob://ACCOUNT/CONTAINER[/prefix] (signs in with DefaultAzureCredential), ' +
  'or a storage connection string such as "UseDevelopmentStorage=true;Container=ledger".';

/** Every message about a --state value: never echoes a key or SAS back (the value, the problem or the hint). */
function usage(spec: string, problem: string, hint = FORMS): UsageError {
  return new UsageError(redactSecrets(`--state ${spec}: ${problem}`), redactSecrets(hint));
}

function isConnectionString(spec: string): boolean {
  const m = /^\s*([A-Za-z]+)\s*=/.exec(spec);
  return m !== null && [...CONNECTION_KEYS, ...OWN_KEYS].includes(m[1].toLowerCase());
}

function parsePrefix(spec: string, raw: string): string {
  const trimmed = raw.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  const segments = trimmed.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || !PREFIX_SEGMENT.test(s)) {
      throw usage(spec, `the folder "${raw}" is not a plain path inside the container.`, 'Use segments of letters, digits, ".", "_", "=" and "-" separated by single slashes, e.g. azblob://acct/ledger/prod.');
    }
  }
  return `${segments.join('/')}/`;
}

function checkContainer(spec: string, container: string): void {
  if (!CONTAINER.test(container)) {
    throw usage(spec, `"${container}" is not a valid container name.`, 'Container names are 3–63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit (the stack creates "ledger").');
  }
}

/** Tells which store `spec` names; throws UsageError for anything malformed. Does no I/O. */
export function parseStateSpec(spec: string, opts: { cwd?: string; endpointSuffix?: string } = {}): StateLocation {
  if (typeof spec !== 'string' || spec.trim() === '') throw usage(String(spec ?? ''), 'no state location given.');
  if (isConnectionString(spec)) return parseConnectionString(spec);
  const scheme = SCHEME.exec(spec)?.[1].toLowerCase();
  if (scheme === undefined) return { kind: 'file', dir: path.resolve(opts.cwd ?? process.cwd(), spec) };
  if (scheme === 'file') {
    try {
      return { kind: 'file', dir: fileURLToPath(spec) };
    } catch (err) {
      throw usage(spec, `not a usable file URL (${(err as Error).message}).`);
    }
  }
  if (scheme !== 'azblob') {
    const hint = scheme === 'https' || scheme === 'http'
      ? 'For a storage account write azblob://ACCOUNT/CONTAINER (the https endpoint is derived from it); for the emulator use a connection string.'
      : FORMS;
    throw usage(spec, `"${scheme}://" locations are not supported.`, hint);
  }
  const m = /^azblob:\/\/([^/?#]*)(\/[^?#]*)?$/i.exec(spec);
  if (!m) throw usage(spec, 'an azblob:// location takes no query or fragment (no SAS either: it signs in with DefaultAzureCredential).', 'Use azblob://ACCOUNT/CONTAINER[/prefix].');
  const account = m[1];
  if (!ACCOUNT.test(account)) {
    throw usage(spec, account === '' ? 'the storage account name is missing.' : `"${account}" is not a valid storage account name.`, 'Account names are 3–24 lower-case letters and digits: azblob://ACCOUNT/CONTAINER[/prefix].');
  }
  const [, container = '', ...rest] = (m[2] ?? '').split('/');
  if (container === '') throw usage(spec, 'the container is missing.', `Use azblob://${account}/CONTAINER (the stack creates "ledger").`);
  checkContainer(spec, container);
  const prefix = parsePrefix(spec, rest.join('/'));
  const suffix = opts.endpointSuffix ?? DEFAULT_ENDPOINT_SUFFIX;
  return { kind: 'azblob', account, container, prefix, accountUrl: `https://${account}.blob.${suffix}` };
}

function parseConnectionString(spec: string): StateLocation {
  const kept: string[] = [];
  const keys = new Map<string, string>();
  for (const part of spec.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw usage(spec, `"${part}" is not a key=value pair of a connection string.`);
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (!CONNECTION_KEYS.includes(key) && !OWN_KEYS.includes(key)) {
      throw usage(spec, `unknown connection string key "${part.slice(0, eq).trim()}".`, `Known keys: DefaultEndpointsProtocol, AccountName, AccountKey, BlobEndpoint, SharedAccessSignature, EndpointSuffix, UseDevelopmentStorage, and campaign's own Container and Prefix.`);
    }
    if (keys.has(key)) throw usage(spec, `the key "${part.slice(0, eq).trim()}" appears twice.`);
    keys.set(key, value);
    // The SDK matches keys case-sensitively; Azure's own tools do not.
    if (!OWN_KEYS.includes(key)) kept.push(`${CONNECTION_KEY_NAMES[CONNECTION_KEYS.indexOf(key)]}=${value}`);
  }
  const dev = keys.get('usedevelopmentstorage');
  if (dev !== undefined && dev.toLowerCase() !== 'true') throw usage(spec, `UseDevelopmentStorage must be "true" (got "${dev}").`);
  const hasKey = keys.has('accountname') && keys.has('accountkey');
  const hasSas = keys.has('blobendpoint') && keys.has('sharedaccesssignature');
  if (dev === undefined && !hasKey && !hasSas) {
    throw usage(spec, 'the connection string has no credentials.', 'It needs AccountName and AccountKey, BlobEndpoint and SharedAccessSignature, or UseDevelopmentStorage=true. For Entra ID sign-in use azblob://ACCOUNT/CONTAINER instead.');
  }
  if (keys.has('accountkey') && !/^[A-Za-z0-9+/]+={0,2}$/.test(keys.get('accountkey') ?? '')) {
    throw usage(spec, 'AccountKey is not base64.', 'Copy the key from the storage account\'s "Access keys" page, or use azblob://ACCOUNT/CONTAINER with Entra ID.');
  }
  for (const k of ['blobendpoint', 'developmentstorageproxyuri']) {
    const v = keys.get(k);
    if (v === undefined) continue;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      throw usage(spec, `${k === 'blobendpoint' ? 'BlobEndpoint' : 'DevelopmentStorageProxyUri'} "${v}" is not a URL.`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw usage(spec, `${k === 'blobendpoint' ? 'BlobEndpoint' : 'DevelopmentStorageProxyUri'} must be an http(s) URL (got "${v}").`);
  }
  const container = keys.get('container') ?? DEFAULT_CONTAINER;
  checkContainer(spec, container);
  const prefix = parsePrefix(spec, keys.get('prefix') ?? '');
  const where = dev !== undefined ? 'the local storage emulator' : keys.get('blobendpoint') ?? `account ${keys.get('accountname')}`;
  return { kind: 'connection-string', connectionString: kept.join(';'), container, prefix, description: `container "${container}" of ${where}` };
}

/**
 * Opens the store `spec` names. Checks the spec only (UsageError when malformed): whether the container exists and
 * the identity may use it shows on the first read or write, as a typed StateError naming the role needed.
 */
export async function openStore(spec: string, opts: OpenStoreOptions = {}): Promise<LedgerStore> {
  const location = parseStateSpec(spec, opts);
  const { cwd: _cwd, credential, endpointSuffix: _suffix, ...storeOpts } = opts;
  if (location.kind === 'file') {
    const { lockMaxAgeMs, pollMs, wallClock, hostname, onWarning } = storeOpts;
    return new FileStore({ dir: location.dir, lockMaxAgeMs, pollMs, wallClock, hostname, onWarning });
  }
  const { BlobServiceClient } = await import('@azure/storage-blob');
  const { leaseSeconds, renewEveryMs, pollMs, maxBlockBytes, wallClock, hostname, onWarning, timers } = storeOpts;
  const blobOpts = { prefix: location.prefix, leaseSeconds, renewEveryMs, pollMs, maxBlockBytes, wallClock, hostname, onWarning, timers };
  if (location.kind === 'connection-string') {
    let service: InstanceType<typeof BlobServiceClient>;
    try {
      service = BlobServiceClient.fromConnectionString(location.connectionString);
    } catch (err) {
      throw usage(spec, `the connection string was not accepted (${(err as Error).message}).`);
    }
    return new BlobStore({ ...blobOpts, container: asContainer(service.getContainerClient(location.container)) });
  }
  const cred = credential ?? new (await import('@azure/identity')).DefaultAzureCredential();
  const service = new BlobServiceClient(location.accountUrl, cred);
  return new BlobStore({ ...blobOpts, container: asContainer(service.getContainerClient(location.container)) });
}

/**
 * import() from this CommonJS module loads the SDK's ESM build, whose classes TypeScript keeps apart from the
 * CommonJS typings BlobStore is written against; they are the same API and BlobStore relies on no instanceof.
 */
function asContainer(client: unknown): ContainerClient {
  return client as ContainerClient;
}
