// Typed errors of the Azure Blob ledger store (the ones every store shares are in ../errors.ts), and how an
// SDK or credential failure becomes one of them.
import type { ContainerClient } from '@azure/storage-blob';
import { StateError } from '../errors';

/** The role the identity needs; named in every access-denied message. */
export const REQUIRED_ROLE = 'Storage Blob Data Contributor';

/** The identity may not use the container (403/401). Terminal until a role is assigned. */
export class BlobAccessDeniedError extends StateError {
  readonly code = 'BlobAccessDenied';
  readonly retryable = false;
  constructor(
    readonly operation: string,
    readonly url: string,
    readonly status: number,
    readonly storageCode: string,
    readonly account: string,
    readonly container: string,
  ) {
    super(
      `Azure Storage refused to ${operation} ${url} (${status} ${storageCode}). ` +
        `The identity campaign runs as needs the "${REQUIRED_ROLE}" role on container "${container}" of storage account "${account}" ` +
        '(or on the account); new role assignments can take a few minutes to apply. ' +
        'With a connection string, check its account key or SAS (it needs read, add, create, write, delete and list).',
    );
  }
}

/** No credential could get a token for Azure Storage. Terminal. */
export class BlobCredentialError extends StateError {
  readonly code = 'BlobCredential';
  readonly retryable = false;
  constructor(
    readonly operation: string,
    readonly url: string,
    readonly problem: string,
  ) {
    super(
      `no Azure credential could get a token to ${operation} ${url}: ${problem.replace(/\.+$/, '')}. ` +
        'Locally, sign in with "az login"; in Azure, give the app its managed identity and set AZURE_CLIENT_ID to its client id.',
    );
  }
}

/** The container does not exist. Terminal: campaign never creates it, so a typo cannot scatter ledgers. */
export class BlobContainerNotFoundError extends StateError {
  readonly code = 'BlobContainerNotFound';
  readonly retryable = false;
  constructor(
    readonly container: string,
    readonly accountUrl: string,
  ) {
    super(
      `container "${container}" does not exist in ${accountUrl}. ` +
        'Check the --state location (the stack creates the container "ledger"), or create the container first.',
    );
  }
}

/** Any other storage failure; retryable for throttling, timeouts, 5xx and network errors. */
export class BlobStorageError extends StateError {
  readonly code = 'BlobStorage';
  constructor(
    readonly operation: string,
    readonly url: string,
    readonly status: number | undefined,
    readonly storageCode: string | undefined,
    readonly retryable: boolean,
    detail: string,
  ) {
    super(`Azure Storage failed to ${operation} ${url}: ${detail}${retryable ? ' This is usually temporary: run again.' : ''}`);
  }
}

/** The ledger grew under this writer: something appends without holding the campaign lock. */
export class LedgerConflictError extends StateError {
  readonly code = 'LedgerConflict';
  readonly retryable = true;
  constructor(
    readonly url: string,
    readonly expectedEnd: number,
    readonly actualEnd: number,
  ) {
    super(
      `${url}: the ledger changed while this run was appending (expected it to end at byte ${expectedEnd}, it ends at ${actualEnd}); ` +
        'another process is writing it without holding the campaign lock. This block was not written (earlier blocks of the batch were); run again.',
    );
  }
}

/** This process's lease on the campaign lock was lost (broken, or expired and taken). Retryable. */
export class LockLostError extends StateError {
  readonly code = 'LockLost';
  readonly retryable = true;
  constructor(
    readonly campaign: string,
    readonly why: string,
  ) {
    super(`campaign "${campaign}" lost its run lock (${why}); nothing more was written. Another run may be in progress: run again later.`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// SDK failures

export interface StorageFailure {
  status?: number;
  code?: string;
  name?: string;
  message?: string;
}

/** Status, storage error code and message of an SDK or credential failure, whatever shape it came in. */
export function failure(err: unknown): StorageFailure {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as { statusCode?: unknown; code?: unknown; name?: unknown; message?: unknown; details?: { errorCode?: unknown } };
  const code = typeof e.details?.errorCode === 'string' ? e.details.errorCode : typeof e.code === 'string' ? e.code : undefined;
  return {
    status: typeof e.statusCode === 'number' ? e.statusCode : undefined,
    code,
    name: typeof e.name === 'string' ? e.name : undefined,
    message: typeof e.message === 'string' ? e.message : undefined,
  };
}

/** Whether `err` is a storage answer with this status (and one of these error codes, when given). */
export function is(err: unknown, status: number, ...codes: string[]): boolean {
  const f = failure(err);
  return f.status === status && (codes.length === 0 || (f.code !== undefined && codes.includes(f.code)));
}

/** Codes saying a lease is no longer ours (broken, or expired and taken). */
export const LEASE_GONE_CODES = ['LeaseIdMismatchWithLeaseOperation', 'LeaseNotPresentWithLeaseOperation', 'LeaseLost', 'LeaseIdMismatchWithBlobOperation', 'LeaseNotPresentWithBlobOperation'];

/** A blob's URL without any SAS query, for messages. */
export function display(client: { url: string }): string {
  const i = client.url.indexOf('?');
  return i < 0 ? client.url : client.url.slice(0, i);
}

/** The container is missing: campaign never creates it. */
export function containerNotFound(container: ContainerClient): BlobContainerNotFoundError {
  return new BlobContainerNotFoundError(container.containerName, display(container).replace(/\/[^/]*$/, ''));
}

/** Turns an SDK or credential failure into one of the typed errors above. */
export function storageError(container: ContainerClient, operation: string, blob: { url: string }, err: unknown): Error {
  if (err instanceof StateError) return err;
  const url = display(blob);
  const f = failure(err);
  if (f.name !== undefined && ['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError', 'AuthenticationRequiredError'].includes(f.name)) {
    return new BlobCredentialError(operation, url, (f.message ?? 'unknown error').split('\n')[0]);
  }
  if (f.status === 403 || f.status === 401) {
    return new BlobAccessDeniedError(operation, url, f.status, f.code ?? 'AuthorizationFailure', container.accountName, container.containerName);
  }
  if (f.status === 404 && f.code === 'ContainerNotFound') return containerNotFound(container);
  if (f.code === 'BlockCountExceedsLimit') {
    return new BlobStorageError(operation, url, f.status, f.code, false,
      'the ledger reached Azure\'s limit of 50,000 append blocks. Archive the campaign (reset it) to start a new ledger.');
  }
  const retryable = f.status === undefined || f.status === 408 || f.status === 429 || f.status >= 500;
  const first = (f.message ?? 'unknown error').split('\n')[0];
  const detail = f.status !== undefined ? `${f.status} ${f.code ?? ''}: ${first}`.replace(' :', ':') : first;
  return new BlobStorageError(operation, url, f.status, f.code, retryable, `${detail}.`);
}
