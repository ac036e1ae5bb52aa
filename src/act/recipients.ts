// The users a run observed, looked up by id for its notices (greeting and mailbox) and for settling the notices an
// interrupted run left open (is the user still observed?). Looked up in the observation itself: no object or map
// entry per user, only a table of indexes, built on the first look-up (a run that sends nothing builds none).
import type { ObservedUser } from '../engine/types';
import type { Recipients } from './notifications';

/** `users` by userId; a user listed twice is found as listed last (as a Map built from the list would have it). */
export function observedRecipients(users: readonly ObservedUser[]): Recipients {
  let table: Int32Array | null = null;
  let mask = 0;
  const build = (): Int32Array => {
    let size = 16;
    while (size < users.length * 2) size *= 2;
    const t = new Int32Array(size); // index + 1; 0 is empty
    mask = size - 1;
    for (let i = 0; i < users.length; i++) {
      const id = users[i].userId;
      let h = hash(id) & mask;
      while (t[h] !== 0 && users[t[h] - 1].userId !== id) h = (h + 1) & mask;
      t[h] = i + 1;
    }
    return t;
  };
  const find = (userId: string): ObservedUser | undefined => {
    const t = (table ??= build());
    let h = hash(userId) & mask;
    while (t[h] !== 0) {
      const u = users[t[h] - 1];
      if (u.userId === userId) return u;
      h = (h + 1) & mask;
    }
    return undefined;
  };
  return { get: find, has: (userId) => find(userId) !== undefined };
}

/** FNV-1a over the UTF-16 code units. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
