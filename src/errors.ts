// Typed errors shared by every command. The CLI turns them into one clear line and an exit code;
// only a bug (anything else) prints a stack trace.

/** The user asked for something that cannot be done as asked (bad flag, missing file, bad revision). Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/** A run could not complete because of its environment (network, Graph, storage). Exit 2. */
export class RuntimeError extends Error {
  override readonly name: string = 'RuntimeError';
  constructor(message: string, readonly retryable = false, readonly hint?: string) {
    super(message);
  }
}
