// The observed users a run's notices are addressed to, looked up in the observation itself.
import { describe, expect, it } from 'vitest';
import { observedRecipients } from '../../src/act/recipients';
import type { ObservedUser } from '../../src/engine/types';

const user = (id: string, n: number): ObservedUser => ({
  userId: id, userPrincipalName: `${id}@contoso.com`, displayName: `User ${n}`, mail: n % 3 === 0 ? null : `${id}@contoso.com`,
  accountEnabled: true, devices: [], methodsRegistered: [], fido2Methods: [], inFido2PolicyScope: true, inEnforcementGroup: false, readErrors: [],
} as unknown as ObservedUser);

describe('observedRecipients', () => {
  it('finds each user as a map of the observation would (a user listed twice as listed last), and nobody else', () => {
    const users = Array.from({ length: 5000 }, (_, i) => user(`id-${i.toString(16).padStart(8, '0')}-0000-4000-8000-${String(i * 7919).padStart(12, '0')}`, i));
    users.push(user(users[10].userId, 99_999));
    const map = new Map(users.map((u) => [u.userId, { displayName: u.displayName, mail: u.mail }]));
    const r = observedRecipients(users);
    for (const u of users) {
      expect(r.has(u.userId)).toBe(true);
      const got = r.get(u.userId)!;
      expect({ displayName: got.displayName, mail: got.mail }).toEqual(map.get(u.userId));
    }
    expect(r.get(users[10].userId)?.displayName).toBe('User 99999');
    for (const id of ['', 'nobody', users[0].userId.toUpperCase(), `${users[1].userId} `]) {
      expect(r.has(id)).toBe(false);
      expect(r.get(id)).toBeUndefined();
    }
    expect(observedRecipients([]).get('x')).toBeUndefined();
  });

  it('hands back the observed user itself: nothing is copied per user', () => {
    const users = [user('a', 1), user('b', 2)];
    const r = observedRecipients(users);
    expect(r.get('b')).toBe(users[1]);
  });
});
