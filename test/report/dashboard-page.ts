// Reads a rendered dashboard's data elements the way its script does: the JSON in the element, and the
// gzip-compressed, base64-encoded payload (`z`) it carries, decompressed. Rows come back in the table's
// order as [upn, display name, stage index, since, deadline, exceeded, postponed, devices below minimum,
// alert bits, readiness index, last notice], dates as YYYY-MM-DD ('' when none, '?' for an unknown day).
import { gunzipSync } from 'node:zlib';

/** The JSON of the page's `<script type="application/json" id="…">` element. */
export function pageData(html: string, id: string): Record<string, unknown> {
  const from = html.indexOf(`id="${id}">`) + `id="${id}">`.length;
  return JSON.parse(html.slice(from, html.indexOf('</script>', from))) as Record<string, unknown>;
}

export function unpack(z: unknown): Record<string, unknown> {
  return JSON.parse(gunzipSync(Buffer.from(String(z), 'base64')).toString('utf8')) as Record<string, unknown>;
}

interface Columns {
  upn: string[]; dom: number[]; domains: string[]; dn: string[]; stage: number[]; since: number[]; deadline: number[]; exceeded: number[];
  postponed: number[]; devices: number[]; alerts: number[]; readiness: number[]; notice: number[]; strings: string[];
}

const date = (day: number): string => (day < 0 ? '' : new Date(day * 86_400_000).toISOString().slice(0, 10));

/** The user table's rows, rebuilt from its columns. */
export function tableRows(html: string): unknown[][] {
  const t = unpack(pageData(html, 'dashboard-data').z) as unknown as Columns;
  return t.upn.map((local, i) => [
    t.dom[i] < 0 ? local : `${local}@${t.domains[t.dom[i]]}`, t.dn[i], t.stage[i], date(t.since[i]), date(t.deadline[i]),
    t.exceeded[i] === -2 ? '?' : date(t.exceeded[i]), date(t.postponed[i]), t.devices[i] < 0 ? '' : t.strings[t.devices[i]], t.alerts[i], t.readiness[i],
    t.notice[i] < 0 ? '' : t.strings[t.notice[i]],
  ]);
}

/** The user detail: { o, s, ix, u, left } decompressed, with `none` from the element. */
export function detailData(html: string): Record<string, unknown> {
  const meta = pageData(html, 'dashboard-detail');
  return { ...unpack(meta.z), none: meta.none, limit: meta.limit };
}
