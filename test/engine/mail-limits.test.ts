import { describe, expect, it } from 'vitest';
import { applyMailBudget, DAY_MS, mailCapacity, MailWindows, MINUTE_MS, type MailSend } from '../../src/engine/mail-limits';
import type { Decision } from '../../src/engine/decide';

const T0 = Date.parse('2026-12-01T06:00:00Z');

/** What a run sends when it paces as the job does: the times of its sends per sender. */
function schedule(history: MailSend[], senders: string[], now: number, want: number): MailSend[] {
  const w = new MailWindows(senders, history);
  const out: MailSend[] = [];
  let t = now;
  while (out.length < want) {
    const p = w.pick(t);
    if (!p) {
      const next = w.nextRoom(t);
      if (next - t > MINUTE_MS) break;
      t = next;
      continue;
    }
    const n = Math.min(20, p.room, want - out.length);
    w.record(p.sender, t, n);
    for (let i = 0; i < n; i++) out.push({ at: t, sender: p.sender });
  }
  return out;
}

function busiest(times: number[], span: number): number {
  times.sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= span) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('mail capacity of a run (Exchange Online: 30 a minute, 10,000 recipients a day per sender)', () => {
  it('is a whole day for a fresh sender, and never more', () => {
    expect(mailCapacity([], ['s@x'], T0, 50_000)).toBe(10_000);
    expect(mailCapacity([], ['s@x'], T0, 120)).toBe(120);
    expect(mailCapacity([], [], T0, 10)).toBe(0);
  });

  it('is a day again 24 hours after a full day (the earlier sends leave the window as fast as new ones go out)', () => {
    const day0 = schedule([], ['s@x'], T0, 10_000);
    expect(day0).toHaveLength(10_000);
    expect(busiest(day0.map((s) => s.at), MINUTE_MS)).toBeLessThanOrEqual(30);
    const day1 = schedule(day0, ['s@x'], T0 + DAY_MS, 10_000);
    expect(day1).toHaveLength(10_000);
    const all = [...day0, ...day1].map((s) => s.at);
    expect(busiest([...all], DAY_MS)).toBeLessThanOrEqual(10_000);
    expect(busiest([...all], MINUTE_MS)).toBeLessThanOrEqual(30);
  });

  it('is nothing but what expires within a minute an hour after a full day', () => {
    const day0 = schedule([], ['s@x'], T0, 10_000);
    expect(mailCapacity(day0, ['s@x'], T0 + 6 * 3_600_000, 10_000)).toBe(0);
  });

  it('counts a dispatch line without a sender against every sender, and adds up several senders', () => {
    const old: MailSend[] = Array.from({ length: 9_990 }, () => ({ at: T0 - 1000, sender: undefined }));
    expect(mailCapacity(old, ['a@x'], T0, 50_000)).toBe(10);
    expect(mailCapacity([], ['a@x', 'b@x'], T0, 50_000)).toBe(20_000);
    const both = schedule([], ['a@x', 'b@x'], T0, 20_000);
    for (const s of ['a@x', 'b@x']) {
      const times = both.filter((x) => x.sender === s).map((x) => x.at);
      expect(times).toHaveLength(10_000);
      expect(busiest(times, MINUTE_MS)).toBeLessThanOrEqual(30);
    }
  });
});

describe('the mail valve', () => {
  const notify = (userId: string): Decision => ({ type: 'notify', userId, userPrincipalName: `${userId}@x`, stage: 'passkeyRegistration', kind: 'passkeyRegistration', sequence: 1, key: `c:${userId}:passkeyRegistration:1`, channel: 'email' } as unknown as Decision);
  const enter = (userId: string): Decision => ({ type: 'enterStage', userId, userPrincipalName: `${userId}@x`, from: null, to: 'passkeyRegistration', reason: 'StageEntered', message: '' } as unknown as Decision);

  it('keeps whole users while their notices fit; a user over the budget makes no move at all', () => {
    const decisions = ['a', 'b', 'c'].flatMap((u) => [enter(u), notify(u)]);
    const r = applyMailBudget(decisions, 2);
    expect(r.deferred).toBe(1);
    expect(r.notices).toBe(2);
    expect(r.kept.map((d) => d.userId)).toEqual(['a', 'a', 'b', 'b']);
  });
});
