// Reads a rendered dashboard's data elements the way its script does: the JSON in the element, and the
// gzip-compressed payload in dashboard-rows / dashboard-timelines (7 bits per character), decompressed. Rows come back in the table's
// order as [upn, display name, stage index, since, deadline, exceeded, postponed, devices below minimum,
// alert bits, readiness index, last notice], dates as YYYY-MM-DD ('' when none, '?' for an unknown day).
import { gunzipSync } from 'node:zlib';

/** The JSON of the page's `<script type="application/json" id="…">` element. */
export function pageData(html: string, id: string): Record<string, unknown> {
  const from = html.indexOf(`id="${id}">`) + `id="${id}">`.length;
  return JSON.parse(html.slice(from, html.indexOf('</script>', from))) as Record<string, unknown>;
}

/** The text of a script element, as the browser's parser gives it to the page. */
function elementText(html: string, id: string): string {
  const open = new RegExp(`<script type="application/octet-stream" id="${id}">`).exec(html);
  if (!open) throw new Error(`no element ${id}`);
  const from = open.index + open[0].length;
  return html.slice(from, html.indexOf('</script>', from));
}

/** The bytes encode7 (src/report/html.ts) wrote, decoded as the page's script decodes them. */
export function decode7(text: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  const unsafe = [0, 13, 60];
  let o = 0, acc = 0, bits = 0;
  const put = (v: number) => {
    acc = ((acc << 7) | v) & 0x7fff;
    bits += 7;
    if (bits >= 8) { bits -= 8; if (o < length) out[o++] = (acc >> bits) & 0xff; }
  };
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c < 128) put(c);
    else { put(unsafe[(c - 0xc0) >> 7]); put((c - 0xc0) & 0x7f); }
  }
  return out;
}

export function unpack(html: string, id: string, length: unknown): Record<string, unknown> {
  return JSON.parse(gunzipSync(decode7(elementText(html, id), Number(length))).toString('utf8')) as Record<string, unknown>;
}

interface Columns {
  upn: string[]; dom: number[]; domains: string[]; dn: string[]; stage: number[]; since: number[]; deadline: number[]; exceeded: number[];
  postponed: number[]; devices: number[]; alerts: number[]; readiness: number[]; notice: number[]; strings: string[];
}

const date = (day: number): string => (day < 0 ? '' : new Date(day * 86_400_000).toISOString().slice(0, 10));

/** The user table's rows, rebuilt from its columns. */
export function tableRows(html: string): unknown[][] {
  const t = unpack(html, 'dashboard-rows', pageData(html, 'dashboard-data').length) as unknown as Columns;
  return t.upn.map((local, i) => [
    t.dom[i] < 0 ? local : `${local}@${t.domains[t.dom[i]]}`, t.dn[i], t.stage[i], date(t.since[i]), date(t.deadline[i]),
    t.exceeded[i] === -2 ? '?' : date(t.exceeded[i]), date(t.postponed[i]), t.devices[i] < 0 ? '' : t.strings[t.devices[i]], t.alerts[i], t.readiness[i],
    t.notice[i] < 0 ? '' : t.strings[t.notice[i]],
  ]);
}

/** The user detail: { o, s, ix, u, left } decompressed, with `none` from the element. */
export function detailData(html: string): Record<string, unknown> {
  const meta = pageData(html, 'dashboard-detail');
  return { ...unpack(html, 'dashboard-timelines', meta.length), none: meta.none, limit: meta.limit };
}
