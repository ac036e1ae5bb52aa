// Positions in a campaign's YAML source, so every finding can say file:line:col.
import { Document, LineCounter, isMap, isPair, isScalar, isSeq, type Node, type Pair } from 'yaml';

export type PathSegment = string | number;

/** `spec.targets.roles[2]` from ['spec', 'targets', 'roles', 2]. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** Splits an ajv instancePath (`/spec/targets/roles/2`) into segments, numbers for array indexes. */
export function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (!pointer) return [];
  const segs: PathSegment[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur) && /^\d+$/.test(seg)) {
      segs.push(Number(seg));
      cur = cur[Number(seg)];
    } else {
      segs.push(seg);
      cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return segs;
}

export interface Position {
  line: number;
  col: number;
}

export class CampaignSource {
  constructor(
    readonly file: string,
    readonly text: string,
    readonly doc: Document.Parsed | undefined,
    readonly lines: LineCounter,
  ) {}

  pos(offset: number): Position {
    const p = this.lines.linePos(offset);
    return { line: p.line, col: p.col };
  }

  /**
   * Where a field is written. With `key: true` points at the key rather than the value
   * (unknown-field errors). Falls back to the deepest ancestor that exists (missing fields).
   */
  locate(path: readonly PathSegment[], opts: { key?: boolean } = {}): Position {
    if (!this.doc || !this.doc.contents) return { line: 1, col: 1 };
    let node: Node | null = this.doc.contents as Node;
    let best: Position = this.nodePos(node) ?? { line: 1, col: 1 };
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      const last = i === path.length - 1;
      if (isMap(node) && typeof seg === 'string') {
        const pair = node.items.find((it: Pair) => isScalar(it.key) && String(it.key.value) === seg) as Pair | undefined;
        if (!pair) return best;
        if (last && opts.key && pair.key) return this.nodePos(pair.key as Node) ?? best;
        const value = pair.value as Node | null;
        if (!value) return this.nodePos(pair.key as Node) ?? best;
        node = value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as Node | undefined;
        if (!item) return best;
        node = isPair(item) ? ((item.value as Node) ?? null) : item;
        if (!node) return best;
      } else {
        return best;
      }
      best = this.nodePos(node) ?? best;
    }
    return best;
  }

  private nodePos(node: Node | null | undefined): Position | undefined {
    const range = node?.range;
    return range ? this.pos(range[0]) : undefined;
  }
}
