// Typed Graph failures. Retryable ones were already retried within the run's time budget;
// reaching the caller means this run must not act on the data they would have returned.
import { RuntimeError } from '../errors';

export class GraphError extends RuntimeError {
  override readonly name: string = 'GraphError';
  constructor(
    message: string,
    /** HTTP status; 0 for network failures and time-outs. */
    readonly status: number,
    /** Graph's error code (`Request_ResourceNotFound`, `TooManyRequests`, …) or a network code. */
    readonly code: string,
    readonly method: string,
    readonly url: string,
    retryable: boolean,
    hint?: string,
  ) {
    super(message, retryable, hint);
  }
}

/** 401/403: the credential is missing, expired or lacks a permission. */
export class GraphAuthError extends GraphError {
  override readonly name = 'GraphAuthError';
  /** 403: the application permissions the request's page lists (any one suffices); empty when unknown. */
  permissions: readonly string[] = [];
}

/** Still throttled (429) or unavailable (503/504, resets, time-outs) when the retry budget ran out. */
export class GraphUnavailableError extends GraphError {
  override readonly name = 'GraphUnavailableError';
}

/** Any other 4xx/5xx: the request itself is wrong or the resource is missing. */
export class GraphRequestError extends GraphError {
  override readonly name = 'GraphRequestError';
}
