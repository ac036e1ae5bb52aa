// The emulator enforces Outlook's and Exchange Online's mail limits, always on, on its injected clock:
// 4 concurrent Outlook requests per app (concepts/throttling-limits.md), 30 messages a minute and 10,000
// recipients a day per sender mailbox (Exchange Online sending limits).
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/sim/clock';
import type { TenantFixture } from '../../src/sim/fixture';
import { startEmulator, type Emulator } from '../../src/sim/server';

const TOKEN = 'sim-token';
const SENDER = 'sender@contoso.com';
const tenant = (): TenantFixture => ({
  users: [
    { id: 'e1000000-0000-4000-8000-000000000001', userPrincipalName: SENDER, displayName: 'Sender', accountEnabled: true, mail: SENDER },
    { id: 'e1000000-0000-4000-8000-000000000002', userPrincipalName: 'other@contoso.com', displayName: 'Other', accountEnabled: true, mail: 'other@contoso.com' },
    { id: 'e1000000-0000-4000-8000-000000000003', userPrincipalName: 'u1@contoso.com', displayName: 'U1', accountEnabled: true, mail: 'u1@contoso.com' },
  ],
});

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const mail = (recipients: number) => ({
  message: { subject: 's', body: { contentType: 'Text', content: 'b' }, toRecipients: Array.from({ length: recipients }, (_, i) => ({ emailAddress: { address: i === 0 ? 'u1@contoso.com' : `x${i}@example.com` } })) },
  saveToSentItems: false,
});

async function post(path: string, body: unknown): Promise<{ status: number; body: any; retryAfter: string | null }> {
  const res = await fetch(`${emu!.url}/v1.0${path}`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, retryAfter: res.headers.get('retry-after') };
}
const sendMail = (from: string, recipients = 1) => post(`/users/${from}/sendMail`, mail(recipients));

describe('Exchange Online sending limits per sender mailbox', () => {
  it('refuses the 31st message in a minute with 429 and Retry-After, and accepts it once the minute has passed', async () => {
    const clock = new FakeClock();
    emu = await startEmulator({ tenant: tenant(), port: 0, token: TOKEN, clock });
    for (let i = 0; i < 30; i++) {
      expect((await sendMail(SENDER)).status).toBe(202);
      clock.advance(1000);
    }
    const refused = await sendMail(SENDER);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('ErrorSubmissionQuotaExceeded');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    // Another mailbox has its own limit.
    expect((await sendMail('other@contoso.com')).status).toBe(202);
    clock.advance(Number(refused.retryAfter) * 1000);
    expect((await sendMail(SENDER)).status).toBe(202);
  });

  it('refuses the 10,001st recipient in 24 hours with the documented submission quota error', async () => {
    const clock = new FakeClock();
    emu = await startEmulator({ tenant: tenant(), port: 0, token: TOKEN, clock });
    for (let i = 0; i < 20; i++) {
      expect((await sendMail(SENDER, 500)).status).toBe(202);
      clock.advance(60_000);
    }
    const refused = await sendMail(SENDER, 1);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('ErrorSubmissionQuotaExceeded');
    expect(refused.body.error.message).toContain('SubmissionQuotaExceededException');
    // The first message leaves the 24-hour window when Retry-After says.
    clock.advance(Number(refused.retryAfter) * 1000);
    expect((await sendMail(SENDER, 1)).status).toBe(202);
  });
});

describe("Outlook's concurrency limit", () => {
  it('runs a $batch of 5 sendMail (Outlook runs at most 4 of them in parallel itself)', async () => {
    emu = await startEmulator({ tenant: tenant(), port: 0, token: TOKEN, clock: new FakeClock() });
    const batch = await post('/$batch', { requests: Array.from({ length: 5 }, (_, i) => ({ id: String(i), method: 'POST', url: `/users/${SENDER}/sendMail`, headers: { 'Content-Type': 'application/json' }, body: mail(1) })) });
    expect(batch.body.responses.map((r: { status: number }) => r.status)).toEqual([202, 202, 202, 202, 202]);
  });

  it('refuses the 5th concurrent request with 429 ApplicationThrottled (MailboxConcurrency) and Retry-After', async () => {
    // Requests overlap while the emulator holds each for its latency; the 5th arrives while 4 are in flight.
    emu = await startEmulator({ tenant: tenant(), port: 0, token: TOKEN, clock: new FakeClock(), faults: { latencyMs: 1500 } });
    const first = Array.from({ length: 4 }, () => sendMail(SENDER));
    // Wait until the emulator has the 4 in hand (it counts each on arrival), then send the 5th.
    for (let i = 0; i < 200; i++) {
      const r = (await (await fetch(`${emu.url}/_sim/requests`)).json()) as { total: number };
      if (r.total >= 4) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const fifth = await sendMail(SENDER);
    const rest = await Promise.all(first);
    expect(rest.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    expect(fifth.status).toBe(429);
    expect(fifth.body.error.code).toBe('ApplicationThrottled');
    expect(fifth.body.error.message).toContain('MailboxConcurrency');
    expect(fifth.retryAfter).not.toBeNull();
  });
});

describe('Outlook concurrency accounting (no timing involved)', () => {
  it('counts a direct mail request as 1, a $batch as up to 4 of its mail requests, a dependsOn chain as 1', async () => {
    const { outlookClaims } = await import('../../src/sim/mail-limits');
    const req = (i: number, dependsOn?: string[]) => ({ id: String(i), method: 'POST', url: `/users/${SENDER}/sendMail`, ...(dependsOn ? { dependsOn } : {}) });
    expect(outlookClaims(`/v1.0/users/${SENDER}/sendMail`, undefined)).toBe(1);
    expect(outlookClaims('/v1.0/users', undefined)).toBe(0);
    expect(outlookClaims('/v1.0/$batch', { requests: [req(0), req(1)] })).toBe(2);
    expect(outlookClaims('/v1.0/$batch', { requests: Array.from({ length: 20 }, (_, i) => req(i)) })).toBe(4);
    expect(outlookClaims('/v1.0/$batch', { requests: [req(0), req(1, ['0']), req(2, ['1'])] })).toBe(1);
    expect(outlookClaims('/v1.0/$batch', { requests: [{ id: '0', method: 'GET', url: '/users' }] })).toBe(0);
  });

  it('admits 4 in flight and refuses the 5th until one leaves', async () => {
    const { OutlookConcurrency } = await import('../../src/sim/mail-limits');
    const c = new OutlookConcurrency();
    for (let i = 0; i < 4; i++) expect(c.enter(1)).toBe(true);
    expect(c.enter(1)).toBe(false);
    c.leave(1);
    expect(c.enter(1)).toBe(true);
    expect(c.enter(4)).toBe(false);
  });
});
