// The last observation as `campaign status` needs it, saved with the report checkpoint: every targeted user with
// only the devices that decide their readiness (below the campaign's minimum OS, or a version that cannot be read),
// by column. At a large tenant most devices meet the minimum, and the full snapshot is mostly them: status reads
// this instead when it is the observation of the last run and the campaign's device rules are the ones it was
// reduced with; otherwise it reads the full snapshot. Same report either way: buildReport assesses each user on
// those devices alone for the estimate already (the lean observation), and shows only the devices below the minimum.
import type { Campaign } from '../campaign/types';
import { assessReadiness, readinessContext } from '../engine/readiness';
import type { Observation, ObservedUser } from '../engine/types';
import type { LedgerStore } from '../ledger/store';

export const observedPieceName = (n: number) => `report-checkpoint-observed-${n}`;
/** Users per piece. */
export const OBSERVED_PER_PIECE = 250_000;

/** The fields kept as text (one per user, seldom repeated); the others are cells into a table of distinct values. */
const TEXT_FIELDS = new Set(['userId', 'userPrincipalName', 'displayName', 'mail']);

export interface ReducedObservationHeader {
  /** The observation without its users. */
  rest: Omit<Observation, 'users'>;
  /** The campaign's spec.devices (JSON) the devices were reduced with: other rules need the full snapshot. */
  devices: string;
  /** The users' fields in order. */
  fields: string[];
  /** Distinct values of the fields that are not text, as JSON text. */
  values: string[];
  users: number;
  pieces: number;
}

export interface ReducedObservationPiece {
  id: string;
  piece: number;
  users: number;
  /** Per text field, its value for each user. */
  texts: Record<string, Array<string | null>>;
  /** Per other field (in `fields` order), the users' cells joined by commas: an index into `values`, -1 when absent. */
  cells: string[];
}

/**
 * The user with only the devices that decide readiness (as buildReport's lean observation keeps them); the user
 * itself when it keeps them all. Each device is judged on its own, so reducing a reduced user changes nothing.
 */
export function reduced(ou: ObservedUser, ctx: ReturnType<typeof readinessContext>): ObservedUser {
  if (ou.readErrors.length > 0) return ou;
  const r = assessReadiness(ou, ctx);
  const keep = new Set<string>();
  for (const d of r.devicesBelowMinimum) keep.add(d.deviceId);
  for (const d of r.unknownVersions) keep.add(d.deviceId);
  if (keep.size === ou.devices.length) return ou;
  return { ...ou, devices: keep.size === 0 ? [] : ou.devices.filter((d) => keep.has(d.id)) };
}

/**
 * Replaces, in place, each user of `observation` that has devices the reduced observation drops by the reduced
 * user: what writeReducedObservation writes of it is unchanged (reducing is idempotent), and a run that has written
 * (or staged) its full snapshot need not hold every device until the report checkpoint is written.
 */
export function reduceObservedDevices(campaign: Campaign, observation: Observation): void {
  const ctx = readinessContext(campaign, observation.fido2Policy, observation.at);
  const users = observation.users;
  for (let i = 0; i < users.length; i++) users[i] = reduced(users[i], ctx);
}

/** Writes the reduced observation's pieces under `id`; returns the header the report checkpoint carries. */
export async function writeReducedObservation(store: LedgerStore, name: string, id: string, campaign: Campaign, observation: Observation): Promise<ReducedObservationHeader> {
  const { users, ...rest } = observation;
  const ctx = readinessContext(campaign, observation.fido2Policy, observation.at);
  const fields: string[] = [];
  const seen = new Set<string>();
  for (const ou of users) {
    for (const f in ou) {
      if (seen.has(f)) continue;
      seen.add(f);
      fields.push(f);
    }
  }
  const cellFields = fields.filter((f) => !TEXT_FIELDS.has(f));
  const values: string[] = [];
  const index = new Map<string, number>();
  const cell = (v: unknown): number => {
    if (v === undefined) return -1;
    const text = JSON.stringify(v);
    let i = index.get(text);
    if (i === undefined) {
      index.set(text, (i = values.length));
      values.push(text);
    }
    return i;
  };
  const pieces = Math.ceil(users.length / OBSERVED_PER_PIECE);
  for (let p = 0; p < pieces; p++) {
    const from = p * OBSERVED_PER_PIECE;
    const to = Math.min(users.length, from + OBSERVED_PER_PIECE);
    const texts: Record<string, Array<string | null>> = {};
    for (const f of fields) if (TEXT_FIELDS.has(f)) texts[f] = [];
    const columns: number[][] = cellFields.map(() => []);
    for (let j = from; j < to; j++) {
      const ou = reduced(users[j], ctx) as unknown as Record<string, unknown>;
      for (const f in texts) texts[f].push(ou[f] === undefined ? null : (ou[f] as string | null));
      for (let c = 0; c < cellFields.length; c++) columns[c].push(cell(ou[cellFields[c]]));
    }
    const piece: ReducedObservationPiece = { id, piece: p, users: to - from, texts, cells: columns.map((c) => c.join(',')) };
    await store.writeSnapshot(name, observedPieceName(p), piece);
  }
  return { rest, devices: JSON.stringify(campaign.spec.devices), fields, values, users: users.length, pieces };
}

/** A column of cells ("3,-1,12"), `count` of them; null when it is not that (a loop: split() costs more). */
export function parseCells(text: string, count: number): Int32Array | null {
  const out = new Int32Array(count);
  if (count === 0) return text === '' ? out : null;
  let n = 0, v = 0, neg = false, digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const ch = i === text.length ? 44 : text.charCodeAt(i);
    if (ch === 44) {
      if (digits === 0 || n >= count) return null;
      out[n++] = neg ? -v : v;
      v = 0; neg = false; digits = 0;
    } else if (ch >= 48 && ch <= 57 && v < 1e9) {
      v = v * 10 + (ch - 48);
      digits++;
    } else if (ch === 45 && digits === 0 && !neg) {
      neg = true;
    } else {
      return null;
    }
  }
  return n === count ? out : null;
}

/** The usual fields of an observed user (engine/types ObservedUser): made as one object literal, a field absent from the snapshot undefined. */
const USUAL = ['userId', 'userPrincipalName', 'displayName', 'mail', 'accountEnabled', 'devices', 'methodsRegistered', 'fido2Methods', 'inFido2PolicyScope', 'inEnforcementGroup', 'readErrors'];

/**
 * The reduced observation of `h` read back (users share the values of their cells: status only reads them); null
 * when a piece is missing, from another write (`id`) or not of this shape.
 */
export async function readReducedObservation(store: LedgerStore, name: string, id: string, h: ReducedObservationHeader): Promise<Observation | null> {
  if (!h || !Array.isArray(h.fields) || !Array.isArray(h.values) || !Number.isInteger(h.pieces) || !Number.isInteger(h.users) || !h.rest) return null;
  const values = h.values.map((t) => JSON.parse(t) as unknown);
  const fields = h.fields;
  const cellFields = fields.filter((f) => !TEXT_FIELDS.has(f));
  // Fields beyond these (a newer observe) are restored one by one.
  const usual = fields.every((f) => USUAL.includes(f));
  const users: ObservedUser[] = [];
  for (let p = 0; p < h.pieces; p++) {
    let piece: ReducedObservationPiece | null;
    try {
      piece = await store.readSnapshot<ReducedObservationPiece>(name, observedPieceName(p));
    } catch {
      return null;
    }
    if (!piece || piece.id !== id || piece.piece !== p || !Number.isInteger(piece.users) || !piece.texts || !Array.isArray(piece.cells) || piece.cells.length !== cellFields.length) return null;
    const count = piece.users;
    const texts: Record<string, Array<string | null>> = piece.texts;
    for (const f of fields) if (TEXT_FIELDS.has(f) && (!Array.isArray(texts[f]) || texts[f].length !== count)) return null;
    const columns: Record<string, Int32Array> = {};
    for (let c = 0; c < cellFields.length; c++) {
      const col = typeof piece.cells[c] === 'string' ? parseCells(piece.cells[c], count) : null;
      if (!col) return null;
      columns[cellFields[c]] = col;
    }
    const v = (f: string, j: number) => {
      const c = columns[f] === undefined ? -1 : columns[f][j];
      return (c === -1 ? undefined : values[c]) as never;
    };
    if (usual) {
      // Each field's column looked up once per piece, not once per user.
      const none = new Int32Array(count).fill(-1);
      const col = (f: string) => columns[f] ?? none;
      const text = (f: string): Array<string | null | undefined> => texts[f] ?? new Array<undefined>(count);
      const [userId, upn, displayName, mail] = ['userId', 'userPrincipalName', 'displayName', 'mail'].map(text);
      const [accountEnabled, devices, methodsRegistered, fido2Methods, inFido2PolicyScope, inEnforcementGroup, readErrors] =
        ['accountEnabled', 'devices', 'methodsRegistered', 'fido2Methods', 'inFido2PolicyScope', 'inEnforcementGroup', 'readErrors'].map(col);
      const at = (c: number) => (c === -1 ? undefined : values[c]) as never;
      for (let j = 0; j < count; j++) {
        users.push({
          userId: userId[j] as never, userPrincipalName: upn[j] as never, displayName: displayName[j] as never, mail: mail[j] as never,
          accountEnabled: at(accountEnabled[j]), devices: at(devices[j]), methodsRegistered: at(methodsRegistered[j]), fido2Methods: at(fido2Methods[j]),
          inFido2PolicyScope: at(inFido2PolicyScope[j]), inEnforcementGroup: at(inEnforcementGroup[j]), readErrors: at(readErrors[j]),
        });
      }
    } else {
      for (let j = 0; j < count; j++) {
        const u: Record<string, unknown> = {};
        for (const f of fields) {
          const x = TEXT_FIELDS.has(f) ? texts[f][j] : v(f, j);
          if (x !== undefined) u[f] = x;
        }
        users.push(u as unknown as ObservedUser);
      }
    }
  }
  if (users.length !== h.users) return null;
  return { ...h.rest, users } as Observation;
}
