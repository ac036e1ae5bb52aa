import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  PostponeKeyError,
  PostponeTokenInputError,
  createPostponeToken,
  verifyPostponeToken,
  type PostponeTokenFailureReason,
  type VerifyPostponeTokenOptions,
} from '../../src/notify/postpone-token';

const KEY = 'k'.repeat(32);
const OLD_KEY = 'o'.repeat(40);
const NOW = new Date('2026-12-01T06:00:00.000Z');
const EXPIRES = '2026-12-04T06:00:00.000Z';
const base = { campaign: 'admins-passkeys', userId: '11111111-2222-3333-4444-555555555555', stage: 'passkeyRegistration', expiresAt: EXPIRES, key: KEY, tokenId: 'tok_0123456789abcdef' };
const claims = { campaign: base.campaign, userId: base.userId, stage: base.stage, expiresAt: EXPIRES, tokenId: base.tokenId };
const token = createPostponeToken(base);
const verifyOpts: VerifyPostponeTokenOptions = { key: KEY, now: NOW, expectedCampaign: 'admins-passkeys', currentStage: 'passkeyRegistration', isUsed: () => false };

function flipChar(s: string, i: number): string {
  return s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
}
const B64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
// The last of 43 characters carries 2 unused bits: flipping one spells the same 32 bytes differently.
function respellSignature(tok: string): string {
  const last = B64URL_ALPHABET.indexOf(tok[tok.length - 1]);
  return tok.slice(0, -1) + B64URL_ALPHABET[last ^ 1];
}
function repayload(tok: string, edit: (p: Record<string, unknown>) => void): string {
  const [payload, sig] = tok.split('.');
  const p = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  edit(p);
  return `${Buffer.from(JSON.stringify(p)).toString('base64url')}.${sig}`;
}

describe('postponement token', () => {
  it('round-trips: a fresh token verifies and returns its claims', () => {
    expect(verifyPostponeToken(token, verifyOpts)).toEqual({ ok: true, claims });
  });

  it('is URL-safe base64url payload "." signature', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  });

  it('draws a random 128-bit token id when none is given', () => {
    const a = createPostponeToken({ ...base, tokenId: undefined });
    const b = createPostponeToken({ ...base, tokenId: undefined });
    const idOf = (t: string): string => (verifyPostponeToken(t, verifyOpts) as { claims: { tokenId: string } }).claims.tokenId;
    expect(idOf(a)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(idOf(a)).not.toBe(idOf(b));
  });

  it('accepts a Date for expiresAt', () => {
    const t = createPostponeToken({ ...base, expiresAt: new Date(EXPIRES) });
    expect(t).toBe(token);
  });

  const failures: Array<{ name: string; token: () => string; opts?: Partial<VerifyPostponeTokenOptions>; reason: PostponeTokenFailureReason; message: string | RegExp; withClaims?: boolean }> = [
    { name: 'rejects a tampered payload (another user)', token: () => repayload(token, (p) => (p.u = 'someone-else')), reason: 'badSignature', message: /invalid signature: it was altered, or signed with a key that is no longer configured\.$/ },
    { name: 'rejects a tampered payload (later expiry)', token: () => repayload(token, (p) => (p.e = Date.parse(EXPIRES) + 86_400_000)), reason: 'badSignature', message: /invalid signature/ },
    { name: 'rejects a tampered signature', token: () => flipChar(token, token.length - 5), reason: 'badSignature', message: /invalid signature/ },
    { name: 'rejects a truncated signature', token: () => token.slice(0, -2), reason: 'badSignature', message: /invalid signature/ },
    { name: 'rejects a token signed with another key', token: () => createPostponeToken({ ...base, key: 'x'.repeat(32) }), reason: 'badSignature', message: /invalid signature/ },
    { name: 'rejects an expired token', token: () => token, opts: { now: new Date(EXPIRES) }, reason: 'expired', message: 'the postponement link expired at 2026-12-04T06:00:00.000Z; use the link in the latest notification.', withClaims: true },
    { name: 'rejects a replayed token', token: () => token, opts: { isUsed: (id) => id === base.tokenId }, reason: 'replayed', message: 'the postponement link tok_0123456789abcdef was already used; each link postpones once.', withClaims: true },
    { name: 'rejects a token for an earlier stage', token: () => createPostponeToken({ ...base, stage: 'deviceUpdate' }), reason: 'wrongStage', message: 'the postponement link was sent for stage deviceUpdate, but the user is now in passkeyRegistration.', withClaims: true },
    { name: 'rejects a token for another campaign', token: () => createPostponeToken({ ...base, campaign: 'helpdesk-passkeys' }), reason: 'wrongCampaign', message: 'the postponement link is for campaign "helpdesk-passkeys", not "admins-passkeys".', withClaims: true },
    { name: 'rejects an empty string', token: () => '', reason: 'malformed', message: /empty or too long/ },
    { name: 'rejects an oversized string', token: () => `${'a'.repeat(3000)}.b`, reason: 'malformed', message: /empty or too long/ },
    { name: 'rejects a token without a dot', token: () => token.replace('.', ''), reason: 'malformed', message: /expected base64url payload "\." signature/ },
    { name: 'rejects a token with three parts', token: () => `${token}.x`, reason: 'malformed', message: /expected base64url payload/ },
    { name: 'rejects characters outside base64url', token: () => token.replace(/^./, '+'), reason: 'malformed', message: /expected base64url payload/ },
    { name: 'rejects a non-canonical signature encoding', token: () => respellSignature(token), reason: 'badSignature', message: /invalid signature/ },
  ];
  it.each(failures)('$name', ({ token: make, opts, reason, message, withClaims }) => {
    const result = verifyPostponeToken(make(), { ...verifyOpts, ...opts });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe(reason);
    if (typeof message === 'string') expect(result.message).toBe(message);
    else expect(result.message).toMatch(message);
    expect(result.claims !== undefined).toBe(withClaims === true);
  });

  it('does not consult the replay record for a token that fails earlier checks', () => {
    const seen: string[] = [];
    verifyPostponeToken(token, { ...verifyOpts, now: new Date(EXPIRES), isUsed: (id) => (seen.push(id), false) });
    expect(seen).toEqual([]);
  });

  it('reports a signed payload of an unknown format version as malformed', () => {
    // Only reachable with the key, e.g. a token from a future version of the service.
    const payload = Buffer.from(JSON.stringify({ v: 2, c: 'admins-passkeys' })).toString('base64url');
    const sig = createHmac('sha256', KEY).update('passkey-campaign/postpone-token/v1.').update(payload).digest('base64url');
    const result = verifyPostponeToken(`${payload}.${sig}`, verifyOpts);
    expect(result).toEqual({ ok: false, reason: 'malformed', message: 'the postponement link is signed but unreadable: its format version 2 is not supported.' });
  });

  it('skips the campaign check when no campaign is expected', () => {
    const other = createPostponeToken({ ...base, campaign: 'helpdesk-passkeys' });
    expect(verifyPostponeToken(other, { ...verifyOpts, expectedCampaign: undefined }).ok).toBe(true);
  });

  describe('key rotation', () => {
    it('accepts a token signed with an older key that is still listed', () => {
      const old = createPostponeToken({ ...base, key: OLD_KEY });
      expect(verifyPostponeToken(old, { ...verifyOpts, key: [KEY, OLD_KEY] })).toEqual({ ok: true, claims });
    });

    it('rejects a token signed with a key that was rotated out', () => {
      const old = createPostponeToken({ ...base, key: OLD_KEY });
      expect(verifyPostponeToken(old, { ...verifyOpts, key: [KEY] })).toMatchObject({ ok: false, reason: 'badSignature' });
    });
  });

  describe('keys', () => {
    it('rejects a key shorter than 32 bytes when creating, saying how to make one', () => {
      expect(() => createPostponeToken({ ...base, key: 'short' })).toThrow(PostponeKeyError);
      expect(() => createPostponeToken({ ...base, key: 'short' })).toThrow(
        'postponement signing key is 5 bytes; it must be at least 32 bytes of secret. Generate one with `openssl rand -base64 32` and store it as a secret in the configuration.',
      );
    });

    it('counts bytes, not characters', () => {
      expect(() => createPostponeToken({ ...base, key: 'é'.repeat(16) })).not.toThrow();
      expect(() => createPostponeToken({ ...base, key: 'é'.repeat(15) })).toThrow(/is 30 bytes/);
    });

    it('rejects a short key in a rotation list and names which one', () => {
      expect(() => verifyPostponeToken(token, { ...verifyOpts, key: [KEY, 'short'] })).toThrow(/postponement signing key #2 is 5 bytes/);
    });

    it('rejects an empty key list', () => {
      expect(() => verifyPostponeToken(token, { ...verifyOpts, key: [] })).toThrow(PostponeKeyError);
    });
  });

  describe('creation input', () => {
    it.each([
      { name: 'an empty user id', input: { userId: '' }, message: /userId must be a non-empty string/ },
      { name: 'an invalid expiry', input: { expiresAt: 'soon' }, message: /expiresAt must be a valid date/ },
      { name: 'a token id with a dot', input: { tokenId: 'abc.defghij' }, message: /tokenId must be 8–64 base64url characters/ },
    ])('rejects $name', ({ input, message }) => {
      expect(() => createPostponeToken({ ...base, ...input })).toThrow(PostponeTokenInputError);
      expect(() => createPostponeToken({ ...base, ...input })).toThrow(message);
    });
  });
});
