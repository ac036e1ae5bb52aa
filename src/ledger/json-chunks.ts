// JSON text in pieces: what JSON.stringify gives, byte for byte, without ever holding the whole text. A snapshot
// of 1,000,000 users is more text than one JavaScript string can hold (about 512 MiB), so snapshots are written
// piece by piece; the format on disk does not change.

const isPlainObject = (v: object) => {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** Arrays longer than this are walked item by item however deep they are. */
export const LONG_ARRAY = 1000;

/**
 * The JSON text of `value` as JSON.stringify(value) would give it, in pieces of about `chunk` characters (a piece
 * ends after the array item or object member that reached the size). Arrays and plain objects are walked down to
 * `depth` levels, and deeper an array of more than LONG_ARRAY items or an array or object with such an array as a member;
 * anything else deeper is one JSON.stringify (a list of a million changes deep in a checkpoint would otherwise be
 * one string of hundreds of megabytes). Nothing at all for a value JSON.stringify gives undefined for.
 */
export function* jsonChunks(value: unknown, chunk = 1 << 20, depth = 3): Generator<string> {
  let buf = '';
  function* emit(text: string): Generator<string> {
    buf += text;
    if (buf.length >= chunk) {
      yield buf;
      buf = '';
    }
  }
  /** Writes `v` (already through toJSON) and says whether it wrote anything. */
  function* walk(v: unknown, level: number): Generator<string, boolean> {
    if (v === null || typeof v !== 'object' || !(Array.isArray(v) || isPlainObject(v)) || (level >= depth && !holdsLongArray(v))) {
      const text = JSON.stringify(v);
      if (text === undefined) return false;
      yield* emit(text);
      return true;
    }
    if (Array.isArray(v)) {
      yield* emit('[');
      for (let i = 0; i < v.length; i++) {
        if (i) yield* emit(',');
        if (!(yield* walk(toJson(v[i], i), level + 1))) yield* emit('null');
      }
      yield* emit(']');
      return true;
    }
    yield* emit('{');
    let first = true;
    for (const k of Object.keys(v)) {
      const item = toJson((v as Record<string, unknown>)[k], k);
      if (!writable(item)) continue;
      yield* emit(`${first ? '' : ','}${JSON.stringify(k)}:`);
      first = false;
      yield* walk(item, level + 1);
    }
    yield* emit('}');
    return true;
  }
  yield* walk(toJson(value, ''), 0);
  if (buf) yield buf;
}

/** `v` through its toJSON, as JSON.stringify calls it (with the key as a string, made only then). */
function toJson(v: unknown, key: string | number): unknown {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') return (v as { toJSON(k: string): unknown }).toJSON(String(key));
  return v;
}

/** An array longer than LONG_ARRAY, or an array or object with one as a member: walked below `depth` too. */
function holdsLongArray(v: object): boolean {
  if (Array.isArray(v)) {
    if (v.length > LONG_ARRAY) return true;
    for (const m of v) if (Array.isArray(m) && m.length > LONG_ARRAY) return true;
    return false;
  }
  for (const k in v) {
    const m = (v as Record<string, unknown>)[k];
    if (Array.isArray(m) && m.length > LONG_ARRAY) return true;
  }
  return false;
}

/** Whether JSON.stringify writes a member with this value (undefined, functions and symbols are left out). */
function writable(v: unknown): boolean {
  return v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';
}
