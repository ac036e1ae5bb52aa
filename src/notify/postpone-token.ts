// Signed postponement link tokens: base64url(payload) "." base64url(HMAC-SHA256(key, domain + payload)).
// The link proves who may postpone what until when; the ledger (isUsed) makes each token single-use.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MIN_POSTPONE_KEY_BYTES } from '../contracts/scheduler';

const TOKEN_FORMAT_VERSION = 1;
// Domain separation: a MAC made with the same key for another purpose never verifies as a postpone token.
const SIGNING_DOMAIN = 'passkey-campaign/postpone-token/v1.';
// Far above a real token (~250 chars); stops oversized input before any decoding work.
const MAX_TOKEN_LENGTH = 2048;
const B64URL = /^[A-Za-z0-9_-]+$/;

export interface PostponeClaims {
  campaign: string;
  userId: string;
  /** The stage the link was sent for; a postponement only applies to that stage. */
  stage: string;
  /** ISO time after which the link no longer works. */
  expiresAt: string;
  /** Random id recorded in the ledger when used, so a link works once. */
  tokenId: string;
}

export interface CreatePostponeTokenInput {
  campaign: string;
  userId: string;
  stage: string;
  expiresAt: Date | string;
  /** The current signing key (configuration secret, ≥ 32 bytes). */
  key: string;
  /** Fixed id for tests; default 16 random bytes. */
  tokenId?: string;
}

export interface VerifyPostponeTokenOptions {
  /** Accepted keys, newest first; pass the old key too while rotating so links already sent keep working. */
  key: string | readonly string[];
  now: Date;
  expectedCampaign?: string;
  /** The user's stage now; a link for an earlier stage no longer applies. */
  currentStage: string;
  /** Whether the ledger already records this token id as used. */
  isUsed: (tokenId: string) => boolean;
}

export type PostponeTokenFailureReason = 'malformed' | 'badSignature' | 'expired' | 'replayed' | 'wrongStage' | 'wrongCampaign';

export type VerifyPostponeTokenResult =
  | { ok: true; claims: PostponeClaims }
  /** `claims` is present once the signature checked out, so a log can say whose link failed. */
  | { ok: false; reason: PostponeTokenFailureReason; message: string; claims?: PostponeClaims };

/** The signing key configuration is unusable. Terminal: fix the configuration. */
export class PostponeKeyError extends Error {
  readonly code = 'PostponeKey';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'PostponeKeyError';
  }
}

/** Bad input to createPostponeToken (a programming or data error). Terminal. */
export class PostponeTokenInputError extends Error {
  readonly code = 'PostponeTokenInput';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'PostponeTokenInputError';
  }
}

interface WirePayload {
  v: number;
  c: string;
  u: string;
  s: string;
  /** Expiry in epoch milliseconds. */
  e: number;
  n: string;
}

function checkKey(key: unknown, label: string): Buffer {
  if (typeof key !== 'string') throw new PostponeKeyError(`${label} must be a string (got ${typeof key}).`);
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length < MIN_POSTPONE_KEY_BYTES) {
    throw new PostponeKeyError(
      `${label} is ${bytes.length} bytes; it must be at least ${MIN_POSTPONE_KEY_BYTES} bytes of secret. ` +
        'Generate one with `openssl rand -base64 32` and store it as a secret in the configuration.',
    );
  }
  return bytes;
}

function sign(key: Buffer, payloadB64: string): Buffer {
  return createHmac('sha256', key).update(SIGNING_DOMAIN).update(payloadB64).digest();
}

function nonEmpty(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new PostponeTokenInputError(`postpone token ${field} must be a non-empty string (got ${JSON.stringify(value)}).`);
  }
  return value;
}

/** Creates a signed, URL-safe postponement token. */
export function createPostponeToken(input: CreatePostponeTokenInput): string {
  const key = checkKey(input.key, 'postponement signing key');
  const expires = input.expiresAt instanceof Date ? input.expiresAt.getTime() : Date.parse(input.expiresAt);
  if (!Number.isFinite(expires)) {
    throw new PostponeTokenInputError(`postpone token expiresAt must be a valid date (got ${JSON.stringify(input.expiresAt)}).`);
  }
  const tokenId = input.tokenId ?? randomBytes(16).toString('base64url');
  if (!B64URL.test(tokenId) || tokenId.length < 8 || tokenId.length > 64) {
    throw new PostponeTokenInputError(`postpone token tokenId must be 8–64 base64url characters (got ${JSON.stringify(tokenId)}).`);
  }
  const payload: WirePayload = {
    v: TOKEN_FORMAT_VERSION,
    c: nonEmpty(input.campaign, 'campaign'),
    u: nonEmpty(input.userId, 'userId'),
    s: nonEmpty(input.stage, 'stage'),
    e: expires,
    n: tokenId,
  };
  const payloadB64 = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${payloadB64}.${sign(key, payloadB64).toString('base64url')}`;
}

function fail(reason: PostponeTokenFailureReason, message: string, claims?: PostponeClaims): VerifyPostponeTokenResult {
  return claims ? { ok: false, reason, message, claims } : { ok: false, reason, message };
}

function decodePayload(payloadB64: string): PostponeClaims | string {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payloadB64, 'base64url').toString('utf8'));
  } catch {
    return 'its payload is not JSON';
  }
  if (typeof value !== 'object' || value === null) return 'its payload is not an object';
  const p = value as Partial<WirePayload>;
  if (p.v !== TOKEN_FORMAT_VERSION) return `its format version ${JSON.stringify(p.v)} is not supported`;
  for (const f of ['c', 'u', 's', 'n'] as const) {
    if (typeof p[f] !== 'string' || p[f] === '') return `its payload field "${f}" is missing`;
  }
  if (typeof p.e !== 'number' || !Number.isFinite(p.e)) return 'its expiry is missing';
  return { campaign: p.c!, userId: p.u!, stage: p.s!, expiresAt: new Date(p.e).toISOString(), tokenId: p.n! };
}

/**
 * The claims of a well-formed token WITHOUT checking its signature: only for finding which campaign's
 * ledger to load before calling verifyPostponeToken. Never act on these claims alone.
 */
export function readUnverifiedClaims(token: string): PostponeClaims | null {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
  const parts = token.split('.');
  if (parts.length !== 2 || !B64URL.test(parts[0])) return null;
  const claims = decodePayload(parts[0]);
  return typeof claims === 'string' ? null : claims;
}

export interface CheckPostponeSignatureOptions {
  /** Accepted keys, newest first. */
  key: string | readonly string[];
  now: Date;
}

/**
 * The checks that need no ledger: shape, signature against any accepted key (constant-time) and expiry.
 * The postponement endpoint runs them before it opens the store or takes the campaign lock, so a flood of
 * forged or stale links costs a few HMACs and never holds up a reconcile.
 */
export function checkPostponeSignature(token: string, opts: CheckPostponeSignatureOptions): VerifyPostponeTokenResult {
  const keyList = typeof opts.key === 'string' ? [opts.key] : [...opts.key];
  if (keyList.length === 0) throw new PostponeKeyError('no postponement signing key configured: verification needs at least one key.');
  const keys = keyList.map((k, i) => checkKey(k, keyList.length === 1 ? 'postponement signing key' : `postponement signing key #${i + 1}`));

  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    return fail('malformed', 'the postponement link is not a valid token (empty or too long).');
  }
  const parts = token.split('.');
  if (parts.length !== 2 || !B64URL.test(parts[0]) || !B64URL.test(parts[1])) {
    return fail('malformed', 'the postponement link is not a valid token (expected base64url payload "." signature).');
  }
  const [payloadB64, sigB64] = parts;
  const given = Buffer.from(sigB64, 'base64url');
  // Reject non-canonical encodings so one signature has exactly one spelling.
  if (given.length !== 32 || given.toString('base64url') !== sigB64) {
    return fail('badSignature', 'the postponement link has an invalid signature: it was altered or not issued by this campaign service.');
  }
  let matched = false;
  for (const key of keys) {
    // No early exit: every key is checked, each with a constant-time compare.
    if (timingSafeEqual(sign(key, payloadB64), given)) matched = true;
  }
  if (!matched) {
    return fail('badSignature', 'the postponement link has an invalid signature: it was altered, or signed with a key that is no longer configured.');
  }

  const claims = decodePayload(payloadB64);
  if (typeof claims === 'string') return fail('malformed', `the postponement link is signed but unreadable: ${claims}.`);
  if (opts.now.getTime() >= Date.parse(claims.expiresAt)) {
    return fail('expired', `the postponement link expired at ${claims.expiresAt}; use the link in the latest notification.`, claims);
  }
  return { ok: true, claims };
}

/**
 * Checks a postponement token completely: checkPostponeSignature, then campaign, stage and single use.
 * Never throws for a bad token; throws PostponeKeyError for bad configuration.
 */
export function verifyPostponeToken(token: string, opts: VerifyPostponeTokenOptions): VerifyPostponeTokenResult {
  const checked = checkPostponeSignature(token, opts);
  if (!checked.ok) return checked;
  const claims = checked.claims;

  if (opts.expectedCampaign !== undefined && claims.campaign !== opts.expectedCampaign) {
    return fail('wrongCampaign', `the postponement link is for campaign "${claims.campaign}", not "${opts.expectedCampaign}".`, claims);
  }
  if (claims.stage !== opts.currentStage) {
    return fail('wrongStage', `the postponement link was sent for stage ${claims.stage}, but the user is now in ${opts.currentStage}.`, claims);
  }
  if (opts.isUsed(claims.tokenId)) {
    return fail('replayed', `the postponement link ${claims.tokenId} was already used; each link postpones once.`, claims);
  }
  return { ok: true, claims };
}
