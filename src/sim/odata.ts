// OData query handling as Graph does it for the directory: $filter (only the forms we support, anything
// else is a 400 like Graph's, never silently ignored), $select, $top, $skiptoken, $count, $expand.

/** A Graph error a handler raises; the server turns it into `{ error: { code, message, innerError } }`. */
export class GraphHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, code = 'BadRequest') => new GraphHttpError(400, code, message);
export const unsupportedQuery = (message: string) => new GraphHttpError(400, 'Request_UnsupportedQuery', message);
export const notFound = (id: string) =>
  new GraphHttpError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);

/** An OData DateTimeOffset literal (unquoted, such as 2026-12-01T00:00:00Z). */
class DateTimeOffset {
  constructor(
    readonly text: string,
    readonly ms: number,
  ) {}
}
type Literal = string | number | boolean | null | DateTimeOffset;
type Comparison = 'ge' | 'le' | 'gt' | 'lt';
type Clause =
  | { kind: 'eq'; prop: string; value: Literal }
  | { kind: Comparison; prop: string; value: Literal }
  | { kind: 'in'; prop: string; values: Literal[] }
  | { kind: 'startswith'; prop: string; value: string };
export type FilterOp = 'eq' | 'in' | 'startswith' | Comparison;
/**
 * Which filter operators each property supports, per resource. A property of a complex type is named by its
 * path (`status/errorCode`); `dateTimes` lists the DateTimeOffset properties, compared as instants.
 */
export type FilterSpec = Record<string, readonly FilterOp[]>;

interface Token {
  type: 'ident' | 'string' | 'number' | 'punct' | 'datetime';
  text: string;
  value?: Literal;
  pos: number;
}

// ISO 8601 with a time and an offset, as OData writes DateTimeOffset literals.
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const syntax = (at: number) => badRequest(`Invalid filter clause: Syntax error at position ${at} in '${text}'.`);
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ type: 'punct', text: ch, pos: i++ });
    } else if (ch === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw syntax(i);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j++];
      }
      tokens.push({ type: 'string', text: text.slice(i, j + 1), value, pos: i });
      i = j + 1;
    } else if (/\d/.test(ch) && DATETIME.test(text.slice(i))) {
      const m = DATETIME.exec(text.slice(i))!;
      const ms = Date.parse(m[0]);
      if (Number.isNaN(ms)) throw syntax(i);
      tokens.push({ type: 'datetime', text: m[0], value: new DateTimeOffset(m[0], ms), pos: i });
      i += m[0].length;
    } else if (/[-\d]/.test(ch)) {
      const m = /^-?\d+(\.\d+)?/.exec(text.slice(i));
      if (!m) throw syntax(i);
      tokens.push({ type: 'number', text: m[0], value: Number(m[0]), pos: i });
      i += m[0].length;
    } else if (/[A-Za-z_@]/.test(ch)) {
      const m = /^[A-Za-z_@][\w.@/]*/.exec(text.slice(i))!;
      tokens.push({ type: 'ident', text: m[0], pos: i });
      i += m[0].length;
    } else {
      throw syntax(i);
    }
  }
  return tokens;
}

function parseFilter(text: string): Clause[] {
  const tokens = tokenize(text);
  let p = 0;
  const syntax = () => badRequest(`Invalid filter clause: Syntax error at position ${tokens[p]?.pos ?? text.length} in '${text}'.`);
  const peek = () => tokens[p];
  const expectPunct = (c: string) => {
    if (peek()?.type !== 'punct' || peek()?.text !== c) throw syntax();
    p++;
  };
  const literal = (): Literal => {
    const t = peek();
    if (!t) throw syntax();
    p++;
    if (t.type === 'string' || t.type === 'number' || t.type === 'datetime') return t.value!;
    if (t.type === 'ident' && /^(true|false|null)$/i.test(t.text)) return t.text.toLowerCase() === 'null' ? null : t.text.toLowerCase() === 'true';
    p--;
    throw syntax();
  };
  const clause = (): Clause[] => {
    const t = peek();
    if (!t) throw syntax();
    if (t.type === 'punct' && t.text === '(') {
      p++;
      const inner = expr();
      expectPunct(')');
      return inner;
    }
    if (t.type !== 'ident') throw syntax();
    p++;
    const next = peek();
    if (next?.type === 'punct' && next.text === '(') {
      const fn = t.text.toLowerCase();
      if (fn !== 'startswith') throw unsupportedQuery(`Unsupported Query. The function '${t.text}' is not supported here.`);
      p++;
      const prop = peek();
      if (prop?.type !== 'ident') throw syntax();
      p++;
      expectPunct(',');
      const value = literal();
      if (typeof value !== 'string') throw badRequest(`Invalid filter clause: startswith expects a string literal in '${text}'.`);
      expectPunct(')');
      return [{ kind: 'startswith', prop: prop.text, value }];
    }
    if (/^not$/i.test(t.text)) throw unsupportedQuery(`Unsupported Query. The operator 'not' is not supported here.`);
    if (next?.type !== 'ident') throw syntax();
    const op = next.text.toLowerCase();
    p++;
    if (op === 'eq') return [{ kind: 'eq', prop: t.text, value: literal() }];
    if (op === 'in') {
      expectPunct('(');
      const values = [literal()];
      while (peek()?.type === 'punct' && peek()?.text === ',') {
        p++;
        values.push(literal());
      }
      expectPunct(')');
      return [{ kind: 'in', prop: t.text, values }];
    }
    if (op === 'ge' || op === 'le' || op === 'gt' || op === 'lt') return [{ kind: op, prop: t.text, value: literal() }];
    if (/^(ne|has|any|all)$/.test(op))
      throw unsupportedQuery(`Unsupported or invalid query filter clause specified for property '${t.text}': operator '${next.text}' is not supported.`);
    throw syntax();
  };
  const expr = (): Clause[] => {
    const out = clause();
    while (peek()?.type === 'ident') {
      const word = peek()!.text.toLowerCase();
      if (word === 'or') throw unsupportedQuery(`Unsupported Query. The operator 'or' is not supported in '${text}'.`);
      if (word !== 'and') throw syntax();
      p++;
      for (const c of clause()) out.push(c);
    }
    return out;
  };
  const clauses = expr();
  if (p !== tokens.length) throw syntax();
  return clauses;
}

const norm = (v: unknown): unknown => (typeof v === 'string' ? v.toLowerCase() : v);

/** A property by its OData path (`status/errorCode`), null when absent. */
function valueAt(item: Record<string, unknown>, path: string): unknown {
  let v: unknown = item;
  for (const part of path.split('/')) {
    if (typeof v !== 'object' || v === null) return null;
    v = (v as Record<string, unknown>)[part];
  }
  return v ?? null;
}

/**
 * Date.parse, remembered: every page of a filtered list runs the filter over the whole collection again, and a sign-in
 * log of tens of thousands of entries would otherwise parse each date once per page of every request.
 */
const instants = new Map<string, number>();
function parseInstant(v: string): number {
  let t = instants.get(v);
  if (t === undefined) {
    if (instants.size >= 1_000_000) instants.clear();
    t = Date.parse(v);
    instants.set(v, t);
  }
  return t;
}

const OPERATOR_KIND: Record<Comparison | 'eq', string> = { eq: 'Equal', ge: 'GreaterThanOrEqual', le: 'LessThanOrEqual', gt: 'GreaterThan', lt: 'LessThan' };

/**
 * Compiles a $filter against what a resource supports; unsupported forms throw Graph's 400. `dateTimes` names the
 * DateTimeOffset properties: they take only DateTimeOffset literals, as Graph's parser requires.
 */
export function compileFilter(
  text: string | null,
  spec: FilterSpec,
  resource: string,
  maxInValues = Infinity,
  dateTimes: readonly string[] = [],
): ((item: Record<string, unknown>) => boolean) | undefined {
  if (text === null) return undefined;
  if (text.trim() === '') throw badRequest(`Invalid filter clause: The $filter is empty.`);
  if (/\/(any|all)\s*\(/i.test(text)) throw unsupportedQuery(`Unsupported Query. Lambda operators (any, all) are not supported by this emulator in '${text}'.`);
  const clauses = parseFilter(text);
  for (const c of clauses) {
    // Directory objects cap `in` (an OR underneath) at 15 values; callers must chunk their id lists.
    if (c.kind === 'in' && c.values.length > maxInValues)
      throw unsupportedQuery(`Too many child clauses specified in search filter expression containing 'OR' operators: ${c.values.length}. Max allowed: ${maxInValues}.`);
  }
  const tests = clauses.map((c) => {
    const allowed = Object.entries(spec).find(([prop]) => prop.toLowerCase() === c.prop.toLowerCase());
    if (!allowed || !allowed[1].includes(c.kind)) {
      // Graph's message; the emulator adds what the property does take, so a caller can fix the query.
      const takes = allowed ? ` It supports ${allowed[1].join(', ')}.` : '';
      throw unsupportedQuery(`Unsupported or invalid query filter clause specified for property '${c.prop}' of resource '${resource}'.${takes}`);
    }
    const prop = allowed[0];
    const isDate = dateTimes.includes(prop);
    if (c.kind === 'eq' || c.kind === 'ge' || c.kind === 'le' || c.kind === 'gt' || c.kind === 'lt') {
      const literalIsDate = c.value instanceof DateTimeOffset;
      if (isDate !== literalIsDate) {
        const found = (v: Literal) => (v instanceof DateTimeOffset ? 'Edm.DateTimeOffset' : typeof v === 'string' ? 'Edm.String' : typeof v === 'number' ? 'Edm.Int32' : typeof v === 'boolean' ? 'Edm.Boolean' : 'null');
        throw badRequest(
          `Invalid filter clause: A binary operator with incompatible types was detected. Found operand types '${isDate ? 'Edm.DateTimeOffset' : 'Edm.String'}' and '${found(c.value)}' for operator kind '${OPERATOR_KIND[c.kind]}'.`,
        );
      }
    }
    const instant = (item: Record<string, unknown>): number => {
      const v = valueAt(item, prop);
      return typeof v === 'string' ? parseInstant(v) : NaN;
    };
    // Directory string comparisons are case-insensitive in Graph.
    switch (c.kind) {
      case 'eq': {
        if (c.value instanceof DateTimeOffset) {
          const want = c.value.ms;
          return (item: Record<string, unknown>) => instant(item) === want;
        }
        const want = norm(c.value);
        return (item: Record<string, unknown>) => norm(valueAt(item, prop)) === want;
      }
      case 'ge':
      case 'le':
      case 'gt':
      case 'lt': {
        const kind = c.kind;
        const want = c.value instanceof DateTimeOffset ? c.value.ms : c.value;
        const holds = (a: number | string, b: number | string) => (kind === 'ge' ? a >= b : kind === 'le' ? a <= b : kind === 'gt' ? a > b : a < b);
        return (item: Record<string, unknown>) => {
          const v = c.value instanceof DateTimeOffset ? instant(item) : valueAt(item, prop);
          if (typeof v === 'number' && Number.isNaN(v)) return false;
          if (typeof v === 'number' && typeof want === 'number') return holds(v, want);
          if (typeof v === 'string' && typeof want === 'string') return holds(v.toLowerCase(), want.toLowerCase());
          return false;
        };
      }
      case 'in': {
        const want = new Set(c.values.map(norm));
        return (item: Record<string, unknown>) => want.has(norm(valueAt(item, prop)));
      }
      case 'startswith': {
        const want = c.value.toLowerCase();
        return (item: Record<string, unknown>) => {
          const v = valueAt(item, prop);
          return typeof v === 'string' && v.toLowerCase().startsWith(want);
        };
      }
    }
  });
  return (item) => tests.every((t) => t(item));
}

/** `$select=a,b` → ['a','b']; undefined when absent. */
export function parseSelect(text: string | null): string[] | undefined {
  if (text === null) return undefined;
  const props = text.split(',').map((s) => s.trim());
  for (const prop of props) {
    if (!/^[A-Za-z_][\w.]*$/.test(prop)) throw badRequest(`Parsing OData Select and Expand failed: Syntax error at '${prop}' in '${text}'.`);
  }
  return props;
}

export interface ExpandItem {
  property: string;
  select?: string[];
}

/** `$expand=registeredOwners($select=id,userPrincipalName)` → [{ property, select }]. */
export function parseExpand(text: string | null, allowed: readonly string[], typeName: string): ExpandItem[] {
  if (text === null) return [];
  const items: ExpandItem[] = [];
  const re = /\s*([A-Za-z_][\w]*)\s*(?:\(([^)]*)\))?\s*(?:,|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m || m[0].length === 0) throw badRequest(`Parsing OData Select and Expand failed: Syntax error at position ${at} in '${text}'.`);
    at = re.lastIndex;
    const property = allowed.find((a) => a.toLowerCase() === m[1]!.toLowerCase());
    if (!property) throw badRequest(`Could not find a property named '${m[1]}' on type '${typeName}'.`);
    let select: string[] | undefined;
    if (m[2] !== undefined && m[2].trim() !== '') {
      const opt = /^\s*\$select\s*=\s*(.+)$/i.exec(m[2]);
      if (!opt) throw badRequest(`Unsupported nested query option in $expand: '${m[2]}'. Only $select is supported.`);
      select = parseSelect(opt[1]!);
    }
    items.push({ property, select });
  }
  return items;
}

export function parseTop(text: string | null, max: number): number | undefined {
  if (text === null) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > max)
    throw unsupportedQuery(`Invalid page size specified: '${text}'. Must be between 1 and ${max} inclusive.`);
  return n;
}

const SKIPTOKEN_PREFIX = 'RFNwdAIA';

export function encodeSkipToken(offset: number): string {
  // Opaque like Graph's: clients must follow @odata.nextLink, not build their own.
  return SKIPTOKEN_PREFIX + Buffer.from(`sim-offset:${offset}`).toString('base64url');
}

export function decodeSkipToken(token: string | null): number {
  if (token === null) return 0;
  const m = token.startsWith(SKIPTOKEN_PREFIX) ? /^sim-offset:(\d+)$/.exec(Buffer.from(token.slice(SKIPTOKEN_PREFIX.length), 'base64url').toString()) : null;
  if (!m) throw badRequest(`The specified page token value has expired or is invalid: '${token}'.`, 'Request_BadRequest');
  return Number(m[1]);
}

/** Keeps only the selected properties; a selected property the object lacks comes back as null, as in Graph. */
export function project(source: object, select: readonly string[] | undefined, keep: readonly string[] = []): Record<string, unknown> {
  const obj = source as Record<string, unknown>;
  if (!select) return obj;
  const out: Record<string, unknown> = {};
  for (const k of keep) if (k in obj) out[k] = obj[k];
  for (const prop of select) {
    const hit = Object.keys(obj).find((k) => k.toLowerCase() === prop.toLowerCase());
    out[hit ?? prop] = hit === undefined ? null : obj[hit];
  }
  return out;
}

/** A query string with "$" kept literal in names, as Graph writes its nextLinks. */
export function buildQuery(params: Array<[string, string]>): string {
  return params.map(([k, v]) => `${encodeURIComponent(k).replace(/^%24/, '$')}=${encodeURIComponent(v).replace(/%2C/g, ',')}`).join('&');
}
