// The HTML dashboard: one self-contained file (inline CSS, inline SVG charts drawn here, a small inline
// script for the user table). No network fetch: a Content-Security-Policy with default-src 'none' makes the
// browser refuse any. The per-user data rides along in non-executed script elements: the table as
// gzip-compressed columns, the user detail (at most DETAIL_LIMIT users) likewise, both decompressed by the
// browser (DecompressionStream) and filtered, sorted and paged over typed arrays, so 1,000,000 users stay
// usable in a file of a few megabytes.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ROLE_DISPLAY_NAMES, roleName, type SupportedRoleName } from '../campaign/roles';
import type { Campaign } from '../campaign/types';
import { ALERT_KINDS } from '../contracts/vocabulary';
import { dayOf } from '../engine/time';
import { STAGES, type Stage } from '../engine/types';
import { gateText, isLegacyClientApp, measuredAt, percentOf, policyStateText, tally } from './impact';
import { DELIVERY_OUTCOME_TITLE, deliveryText, graduatedCount, READINESS_TITLE, shownStages, stageCount, type DayCounts, type StatusReport, type StatusUser } from './model';
import { alertLabel, GRADUATED, hasStage, stageIndex, stageTitle } from './stages';
import type { DashboardDetail } from './timeline';
import { maxOf } from '../contracts/arrays';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/**
 * JSON that can sit inside a <script> element: every `<` becomes \u003c, so neither `</script` nor `<!--`
 * can end or confuse the element, and JSON.parse still reads the same value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Per stage: the chart colour, and the table badge's background and text (contrast ≥ 4.5:1). A newer stage without an entry is grey. */
const STAGE_COLOR: Readonly<Record<string, { chart: string; bg: string; fg: string }>> = {
  deviceUpdate: { chart: '#b45309', bg: '#fef3c7', fg: '#78350f' },
  passkeyRegistration: { chart: '#1d4ed8', bg: '#dbeafe', fg: '#1e3a8a' },
  enforcementNotice: { chart: '#7c3aed', bg: '#ede9fe', fg: '#4c1d95' },
  enforced: { chart: '#15803d', bg: '#dcfce7', fg: '#14532d' },
  graduated: { chart: '#0e7490', bg: '#cffafe', fg: '#164e63' },
};
const OTHER_COLOR = { chart: '#64748b', bg: '#e2e8f0', fg: '#1e293b' };
const stageColor = (s: string) => STAGE_COLOR[s] ?? OTHER_COLOR;
/** The table's stage index of a user who has not entered the campaign (after every stage). */
const NOT_ENTERED_INDEX = STAGES.length;
const NOT_ENTERED = 'Not entered';
/** Swatches (sw-i) and table badges (st-i) per stage index, "not entered" last: generated so a new stage gets its own. */
const STAGE_CSS = [
  ...STAGES.map((s, i) => `.sw-${i}{background:${stageColor(s).chart}}.st-${i}{background:${stageColor(s).bg};color:${stageColor(s).fg}}`),
  `.sw-${NOT_ENTERED_INDEX}{background:${OTHER_COLOR.chart}}.st-${NOT_ENTERED_INDEX}{background:${OTHER_COLOR.bg};color:${OTHER_COLOR.fg}}`,
].join('');

const fmt = (n: number): string => n.toLocaleString('en-US');
const pct = (n: number, of: number): string => (of > 0 ? `${Math.round((100 * n) / of)}%` : '–');

/** A round axis maximum at or above `max` (1, 2, 2.5, 5 × 10^k). */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "29 Nov 2026, 06:00 UTC" for an ISO time, "29 Nov 2026" for a YYYY-MM-DD date; the input when unreadable. */
export function humanTime(value: string): string {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const ms = Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) return value;
  const d = new Date(ms);
  const date = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  if (dateOnly) return date;
  return `${date}, ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
}

/** A <time> element: readable text, the exact UTC value in datetime and on hover. */
export function timeHtml(value: string): string {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const v = escapeHtml(value);
  return `<time datetime="${v}" title="${dateOnly ? `${v} (UTC)` : v}">${escapeHtml(humanTime(value))}</time>`;
}

/** Table filters as the page's address fragment (#users?stage=enforced…): what a count link sets. */
function usersHref(filter: Record<string, string> = {}): string {
  const q = Object.entries(filter).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  return `#users${q ? `?${q}` : ''}`;
}

/** A count that opens the user table filtered to the users behind it. */
function countLink(n: number, filter: Record<string, string>, count: string | null, what: string, cls = ''): string {
  return `<a class="count${cls ? ` ${cls}` : ''}" href="${escapeHtml(usersHref(filter))}"${count ? ` data-count="${count}"` : ''} aria-label="${escapeHtml(`${fmt(n)} ${what}: show them in the user table`)}">${fmt(n)}</a>`;
}

/** Users in `stage` or a later one. */
function fromStage(r: StatusReport, stage: string): number {
  let n = 0;
  for (const s of STAGES) if (stageIndex(s) >= stageIndex(stage)) n += stageCount(r, s);
  return n;
}

/** The funnel as HTML rows: labels wrap at any width; bars are small SVGs (no inline style under the CSP). */
function funnelHtml(r: StatusReport): string {
  const c = r.counts;
  const steps: Array<[string, number, string]> = [
    ['Targeted', c.targeted, '#475569'],
    ['Devices meet the minimum OS', fromStage(r, 'passkeyRegistration'), stageColor('passkeyRegistration').chart],
    ['Passkey registered', fromStage(r, 'enforcementNotice'), stageColor('enforcementNotice').chart],
    ['Enforced', fromStage(r, 'enforced'), stageColor('enforced').chart],
  ];
  // Graduated enforcement: the users whose own sign-ins moved them to the enabled policy.
  if (shownStages(r).some((s) => s === GRADUATED)) steps.push(['Graduated to the enabled policy', graduatedCount(r), stageColor(GRADUATED).chart]);
  const max = Math.max(1, c.targeted);
  const rows = steps.map(([label, n, color]) => {
    const w = n > 0 ? Math.max(0.5, (100 * n) / max) : 0;
    return `<li><span class="f-label">${escapeHtml(label)}</span>` +
      `<svg class="f-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false"><rect width="100" height="10" fill="#eef2f7"/><rect width="${w.toFixed(2)}" height="10" fill="${color}"/></svg>` +
      `<span class="f-value">${fmt(n)} · ${pct(n, c.targeted)}</span></li>`;
  });
  return `<ol class="funnel" aria-label="Stage funnel: users who reached each step">${rows.join('')}</ol>`;
}

function readinessHtml(r: StatusReport): string {
  // The readiness counts leave enforced users out (they are counted in `enforced`), so "ready" means ready
  // for enforcement, and the filter a count links to leaves enforced users out too.
  const rd = r.readiness;
  const extra: Record<string, string> = { stage: 'notEnforced' };
  const enforced = rd.enforced;
  const segs: Array<[string, number, string]> = [
    [READINESS_TITLE.needsDeviceUpdate, rd.needsDeviceUpdate, stageColor('deviceUpdate').chart],
    [READINESS_TITLE.needsPasskey, rd.needsPasskey, stageColor('passkeyRegistration').chart],
    [READINESS_TITLE.ready, rd.ready, '#0f766e'],
    ['Not assessed', rd.unassessed, '#64748b'],
    ['Already enforced', enforced, stageColor('enforced').chart],
  ];
  const total = segs.reduce((s, x) => s + x[1], 0);
  const W = 640;
  let x = 0;
  const rects = segs.filter((s) => s[1] > 0).map(([label, n, color]) => {
    const w = total > 0 ? (W * n) / total : 0;
    const out = `<rect x="${x.toFixed(2)}" y="0" width="${w.toFixed(2)}" height="20" fill="${color}"><title>${escapeHtml(`${label}: ${n}`)}</title></rect>`;
    x += w;
    return out;
  });
  if (total === 0) rects.push(`<rect x="0" y="0" width="${W}" height="20" fill="#eef2f7"/>`);
  const strip = `<svg viewBox="0 0 ${W} 20" preserveAspectRatio="none" class="bar-strip" role="img" aria-label="${escapeHtml(segs.map(([l, n]) => `${l}: ${n}`).join('; '))}">${rects.join('')}</svg>`;
  const scope = 'Targeted users not yet enforced, as the last observation saw them.';
  const items = [
    `<li class="r-0">${countLink(rd.needsDeviceUpdate, { readiness: 'needsDeviceUpdate', ...extra }, 'needsDeviceUpdate', 'users needing a device update', 'n')}<span class="what">${READINESS_TITLE.needsDeviceUpdate}</span><span class="muted">at least one active device below the minimum OS</span></li>`,
    `<li class="r-1">${countLink(rd.needsPasskey, { readiness: 'needsPasskey', ...extra }, 'needsPasskey', 'users needing a passkey', 'n')}<span class="what">${READINESS_TITLE.needsPasskey}</span><span class="muted">compatible devices, no passkey registered</span></li>`,
    `<li class="r-2">${countLink(rd.ready, { readiness: 'ready', ...extra }, 'ready', 'ready users', 'n')}<span class="what">${READINESS_TITLE.ready}</span><span class="muted">compatible devices and a registered passkey; enforcement follows the notice period</span></li>`,
    `<li class="r-3">${countLink(enforced, { stage: shownStages(r).some((s) => s === GRADUATED) ? 'enforcedOrLater' : 'enforced' }, 'readinessEnforced', 'users already enforced', 'n')}<span class="what">Already enforced</span><span class="muted">counted under stages, not readiness</span></li>`,
  ];
  return `<p class="muted scope">${scope}</p>${strip}<ul class="readiness">${items.join('')}</ul>` +
    (rd.unassessed ? `<p class="muted">${countLink(rd.unassessed, { readiness: 'unassessed' }, 'unassessed', 'users not assessed', 'inline')} could not be assessed (Graph reads failed).</p>` : '');
}

const EXCEEDED_COLOR = '#b91c1c';

/** Daily stacked bars of stage counts, enforced at the bottom so progress grows upward; exceeded grace as a line. */
function timelineSvg(daily: DayCounts[]): string {
  if (daily.length === 0) return '<p class="muted">No reconcile run has been recorded yet.</p>';
  const W = 960, H = 280, L = 52, R = 12, T = 12, B = 44;
  const pw = W - L - R, ph = H - T - B;
  const order: Stage[] = [...STAGES].reverse();
  const totals = daily.map((d) => order.reduce((s, k) => s + d[k], 0));
  const max = niceMax(maxOf(totals));
  const step = pw / daily.length;
  const bw = Math.max(1, Math.min(28, step * 0.78));
  const out: string[] = [];
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    const y = T + ph - (ph * v) / max;
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e2e8f0"/>` +
      `<text x="${L - 8}" y="${(y + 4).toFixed(1)}" text-anchor="end" class="svg-axis">${fmt(Math.round(v * 100) / 100)}</text>`);
  }
  const every = Math.max(1, Math.ceil(daily.length / 10));
  daily.forEach((d, i) => {
    const cx = L + step * i + step / 2;
    let y = T + ph;
    const rects = order.map((k) => {
      const h = (ph * d[k]) / max;
      y -= h;
      return h > 0 ? `<rect x="${(cx - bw / 2).toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="${stageColor(k).chart}"/>` : '';
    }).join('');
    const tip = `${d.date}: ${order.map((k) => `${stageTitle(k).toLowerCase()} ${d[k]}`).join(', ')}; exceeded grace ${d.exceededGrace}${d.runs === 0 ? ' (no run that day)' : ''}`;
    out.push(`<g class="day"><title>${escapeHtml(tip)}</title>${rects}</g>`);
    if (i % every === 0 || i === daily.length - 1) {
      if (i === daily.length - 1 && i % every !== 0 && i % every < every / 2) return; // avoid overlapping the previous label
      out.push(`<text x="${cx.toFixed(1)}" y="${H - B + 18}" text-anchor="middle" class="svg-axis">${d.date.slice(5)}</text>`);
    }
  });
  out.push(`<line x1="${L}" x2="${W - R}" y1="${T + ph}" y2="${T + ph}" stroke="#94a3b8"/>`);
  // Users past a grace period, drawn over the bars: a flat bar with a rising line is a campaign that is stuck.
  const pts = daily.map((d, i) => `${(L + step * i + step / 2).toFixed(1)},${(T + ph - (ph * d.exceededGrace) / max).toFixed(1)}`);
  if (daily.some((d) => d.exceededGrace > 0)) {
    out.push(`<g class="exceeded-series"><polyline points="${pts.join(' ')}" fill="none" stroke="#ffffff" stroke-width="5" stroke-linejoin="round"/>` +
      `<polyline points="${pts.join(' ')}" fill="none" stroke="${EXCEEDED_COLOR}" stroke-width="2.5" stroke-linejoin="round" stroke-dasharray="6 3"/></g>`);
  }
  const first = daily[0].date, last = daily[daily.length - 1].date;
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="timeline-title timeline-desc" class="chart">` +
    `<title id="timeline-title">Users per stage at the end of each day</title>` +
    `<desc id="timeline-desc">Stacked daily counts per stage from ${first} to ${last}, and a dashed line for users past a grace period (${daily[daily.length - 1].exceededGrace} on the last day); the table below the chart has the same numbers.</desc>${out.join('')}` +
    `<text x="${L}" y="${H - 6}" class="svg-axis">${first.slice(0, 4)}</text></svg>`;
}

function timelineTable(daily: DayCounts[]): string {
  if (daily.length === 0) return '';
  const rows = daily.map((d) => `<tr><td>${d.date}</td>${STAGES.map((k) => `<td class="num">${fmt(d[k])}</td>`).join('')}<td class="num">${fmt(d.exceededGrace)}</td><td class="num">${d.runs}</td></tr>`).join('');
  return `<details><summary>Daily numbers as a table</summary><div class="scroll"><table class="data"><caption class="sr-only">Users per stage at the end of each day</caption>` +
    `<thead><tr><th scope="col">Date</th>${STAGES.map((k) => `<th scope="col" class="num">${stageTitle(k)}</th>`).join('')}<th scope="col" class="num">Exceeded grace</th><th scope="col" class="num">Runs</th></tr></thead>` +
    `<tbody>${rows}</tbody></table></div></details>`;
}

function settingsHtml(c: Campaign): string {
  const s = c.spec;
  const list = (xs: string[]) => (xs.length ? xs.map((x) => `<code>${escapeHtml(x)}</code>`).join(', ') : '<span class="muted">none</span>');
  const rows: Array<[string, string]> = [
    ['Owners', list(c.metadata.owners)],
    ['Target roles', s.targets.roles.length ? s.targets.roles.map((r) => escapeHtml(ROLE_DISPLAY_NAMES[roleName(r) as SupportedRoleName] ?? r)).join(', ') : '<span class="muted">none</span>'],
    ['PIM-eligible members', s.targets.includeEligible ? 'included' : 'not included'],
    ['Target groups', list(s.targets.groups)],
    ['Target users', list(s.targets.users)],
    ['Break-glass accounts', list(s.exclusions.breakGlass)],
    ['Excluded users / groups', `${list(s.exclusions.users)} / ${list(s.exclusions.groups)}`],
    ['Active devices', `signed in within ${s.devices.activeWithinDays} days`],
    ['Minimum OS', Object.entries(s.devices.minimumOs).map(([k, v]) => `${escapeHtml(k)} ${escapeHtml(v)}`).join(' · ')],
    ['Device update', `${s.stages.deviceUpdate.gracePeriodDays} days grace, reminder every ${s.stages.deviceUpdate.reminderEveryDays} days`],
    ['Passkey registration', `${s.stages.passkeyRegistration.gracePeriodDays} days grace, reminder every ${s.stages.passkeyRegistration.reminderEveryDays} days`],
    ['Enforcement notice', `${s.stages.enforcement.noticeDays} days`],
    ['Postponement', s.postponement.enabled ? `${s.postponement.days} days, at most ${s.postponement.maxTimes}× per stage` : 'disabled'],
    ['Notifications', `${escapeHtml(s.notifications.channel)} · registration link <code>${escapeHtml(s.notifications.registrationUrl)}</code>`],
    ['Conditional Access policy', s.enforcement.policyState === 'reportOnly' ? 'report-only' : 'enabled (enforcing)'],
    ['New enforcements per run', `at most ${s.enforcement.maxNewPerRun}`],
    ['Enforcement mode', s.enforcement.mode === 'graduated' ? `graduated: users whose own sign-ins qualify move to the enabled policy, at most ${s.enforcement.maxGraduationsPerRun} per run` : 'report-only until the policy is enabled by a reviewed change'],
    ['Gate before enabling', `${s.enforcement.enableWhen.observedDays} days of sign-ins observed, at most ${s.enforcement.enableWhen.maxWouldBlockUsersPercent} % of observed users would be blocked`],
  ];
  return `<dl class="settings">${rows.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('')}</dl>`;
}

/** The user-table filter behind each alert code; none for campaign-level alerts. */
const ALERT_FILTER: Partial<Record<string, Record<string, string>>> = {
  ...Object.fromEntries(ALERT_KINDS.filter((k) => k !== 'AccountDisabled').map((k) => [k, { alert: k }])),
  GraceExceeded: { exceeded: '1' },
  UnreadUsers: { alert: 'unread' },
  DisabledAccounts: { alert: 'disabled' },
};

function alertsHtml(r: StatusReport): string {
  if (r.alerts.length === 0) return '<p class="ok-note">No alerts.</p>';
  const items = r.alerts.map((a) => {
    const filter = ALERT_FILTER[a.code];
    const names = a.users.slice(0, 200).map((u) => `<li><code>${escapeHtml(u.userPrincipalName)}</code></li>`).join('');
    const more = a.users.length > 200 ? `<li class="muted">… and ${fmt(a.users.length - 200)} more: filter the user table</li>` : '';
    const show = a.users.length && filter
      ? `<a class="show-users" href="${escapeHtml(usersHref(filter))}" data-alert-count="${a.code}">Show ${a.users.length === 1 ? 'this user' : `these ${fmt(a.users.length)} users`} in the table</a>` : '';
    const detail = a.users.length ? `<details><summary>List ${a.users.length === 1 ? 'the user' : `the ${fmt(a.users.length)} users`} here</summary><ul class="names">${names}${more}</ul></details>` : '';
    return `<li class="alert ${a.severity}" data-alert="${a.code}"><span class="sev">${a.severity === 'error' ? 'Error' : 'Warning'}</span>` +
      `<div><p>${escapeHtml(a.message)}</p>${show}${detail}</div></li>`;
  });
  return `<ul class="alerts">${items.join('')}</ul>`;
}

/** Alert bits of a table row: the ledger's alert kinds, then "not read in the last run" and "account disabled". */
const ALERT_BITS: string[] = [...ALERT_KINDS, 'unread', 'disabled'];
const ALERT_BIT_LABELS: string[] = [...ALERT_KINDS.map(alertLabel), 'Not read in the last run', 'Account disabled'];
const READINESS_KEYS = ['needsDeviceUpdate', 'needsPasskey', 'ready', 'unassessed'] as const;

/** Users per page with a timeline, devices and methods in the user detail; the others get a note on how to see theirs. */
export const DETAIL_LIMIT = 50_000;

/** Strings kept once, referred to by index. */
class Interner {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();
  of(text: string): number {
    let i = this.index.get(text);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(text);
      this.index.set(text, i);
    }
    return i;
  }
}

/**
 * Values that cannot stand for themselves in a script element's text: NUL (read as U+FFFD), CR (read as LF)
 * and `<` (could start `</script` or `<!--`).
 */
const UNSAFE_7 = [0, 13, 60];

/**
 * Bytes as text that a script element carries unchanged, 7 bits per character (base64 carries 6): each
 * 7-bit group is the ASCII character of that code, except the three UNSAFE_7 codes, which take the next
 * group with them into one character from U+00C0 (two bytes of UTF-8 for 14 bits). The last group is padded
 * with zero bits; the reader stops after `length` bytes.
 */
export function encode7(bytes: Uint8Array): Buffer {
  const groups = Math.ceil((bytes.length * 8) / 7);
  const out = Buffer.alloc(groups * 2);
  let o = 0, acc = 0, bits = 0, i = 0, g = 0;
  const next = (): number => {
    if (bits < 7) {
      acc = ((acc << 8) | (i < bytes.length ? bytes[i] : 0)) & 0x7fff;
      i++;
      bits += 8;
    }
    bits -= 7;
    g++;
    return (acc >> bits) & 0x7f;
  };
  while (g < groups) {
    const v = next();
    const unsafe = UNSAFE_7.indexOf(v);
    if (unsafe < 0) out[o++] = v;
    else {
      const code = 0xc0 + ((unsafe << 7) | (g < groups ? next() : 0));
      out[o++] = 0xc0 | (code >> 6);
      out[o++] = 0x80 | (code & 0x3f);
    }
  }
  return out.subarray(0, o);
}

/** gzip, then encode7: what the page's script decodes and decompresses with DecompressionStream (no network, allowed by the CSP). */
function packed(value: unknown): { length: number; text: string } {
  const gz = gzipSync(Buffer.from(JSON.stringify(value), 'utf8'), { level: 6 });
  return { length: gz.length, text: encode7(gz).toString('utf8') };
}

/** A UTC day number, or -1 for none. The same times recur (one per run, a few dozen deadlines): each is parsed once. */
const dayNumbers = new Map<string, number>();
function dayNumber(iso: string | null): number {
  if (!iso) return -1;
  let d = dayNumbers.get(iso);
  if (d === undefined) {
    if (dayNumbers.size > 100_000) dayNumbers.clear();
    dayNumbers.set(iso, (d = dayOf(iso.length === 10 ? `${iso}T00:00:00Z` : iso)));
  }
  return d;
}

/**
 * The user table as columns, one array per column, parallel to the report's rows: the UPN's local part and
 * an interned domain, display name (empty when none, 1 when it is the one the UPN suggests), stage index (4 = not entered), since / deadline /
 * postponed as UTC day numbers (-1 = none), exceeded grace as a day number (-1 = no, -2 = yes on an unknown
 * day), devices below the minimum and the last notice as indexes into `strings` (-1 = none), alert bits
 * (ALERT_BITS), readiness index (-1 = not observed). `order` lists the rows by UPN when the report's are not.
 */
function tableColumns(r: StatusReport): unknown {
  const idx = new Map<Stage, number>(STAGES.map((s, i) => [s, i]));
  const bit = new Map<string, number>(ALERT_BITS.map((k, i) => [k, 1 << i]));
  const domains = new Interner(), strings = new Interner();
  const n = r.users.length;
  const upn: string[] = new Array<string>(n), dom = new Array<number>(n), dn: Array<string | 1> = new Array<string | 1>(n);
  const stage = new Array<number>(n), since = new Array<number>(n), deadline = new Array<number>(n), exceeded = new Array<number>(n);
  const postponed = new Array<number>(n), devices = new Array<number>(n), alerts = new Array<number>(n), readiness = new Array<number>(n), notice = new Array<number>(n);
  let sorted = true, prev = '';
  for (let i = 0; i < n; i++) {
    const u = r.users[i];
    const at = u.userPrincipalName.lastIndexOf('@');
    upn[i] = at < 0 ? u.userPrincipalName : u.userPrincipalName.slice(0, at);
    dom[i] = at < 0 ? -1 : domains.of(u.userPrincipalName.slice(at + 1));
    dn[i] = u.displayName && u.displayName === nameFromUpn(upn[i]) ? 1 : u.displayName ?? '';
    stage[i] = u.stage === null ? NOT_ENTERED_INDEX : idx.get(u.stage)!;
    since[i] = dayNumber(u.stageSince);
    deadline[i] = dayNumber(u.deadline);
    exceeded[i] = u.exceededGraceAt ? dayNumber(u.exceededGraceAt) : u.exceededGrace ? -2 : -1;
    postponed[i] = dayNumber(u.postponedUntil);
    devices[i] = u.devicesBelowMinimum.length ? strings.of(u.devicesBelowMinimum.join('; ')) : -1;
    let bits = 0;
    for (const a of u.alerts) bits |= bit.get(a) ?? 0;
    if (u.unread) bits |= bit.get('unread')!;
    if (u.accountEnabled === false) bits |= bit.get('disabled')!;
    alerts[i] = bits;
    readiness[i] = u.readiness === null ? -1 : READINESS_KEYS.indexOf(u.readiness);
    notice[i] = u.delivery ? strings.of(deliveryText(u.delivery)) : -1;
    const key = u.userPrincipalName.toLowerCase();
    if (key < prev) sorted = false;
    prev = key;
  }
  // The rows of the users the recorded impact report says the policy would block (ascending).
  const wb: number[] = [];
  if (r.impact && r.impact.wouldBlock.length) {
    const blocked = new Set(r.impact.wouldBlock.map((w) => w.userId));
    for (let i = 0; i < n; i++) if (blocked.has(r.users[i].userId)) wb.push(i);
  }
  const out: Record<string, unknown> = { upn, dom, domains: domains.list, dn, stage, since, deadline, exceeded, postponed, devices, alerts, readiness, notice, strings: strings.list, wb };
  if (!sorted) {
    const keys = r.users.map((u) => u.userPrincipalName.toLowerCase());
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : a - b));
    out.order = order;
  }
  return out;
}

/**
 * The display name a UPN's local part suggests ("megan.bowen" → "Megan Bowen"); the page's script derives it
 * the same way, so the table carries 1 instead of a display name that is just this.
 */
function nameFromUpn(local: string): string {
  return local.split(/[._-]/).filter((w) => w.length > 0).map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
}

/** Needs an admin's eye first: an alert, past a grace period, not read in the last run, or a disabled account. */
const needsAttention = (u: StatusUser): boolean => u.alerts.length > 0 || u.exceededGrace || u.unread || u.accountEnabled === false;

const REASON_TEXT: Record<string, string> = {
  AlreadyInEnforcementGroup: 'already in the enforcement group with a passkey',
  DeviceBelowMinimumOs: 'an active device is below the minimum OS',
  NoPasskeyRegistered: 'devices meet the minimum OS, no passkey registered',
  ReadyForEnforcement: 'devices meet the minimum OS and a passkey is registered',
  DevicesUpdated: 'all active devices now meet the minimum OS',
  PasskeyRegistered: 'passkey registered',
  PasskeyLost: 'no passkey any more',
  NoticePeriodElapsed: 'enforcement notice period elapsed',
  Excluded: 'excluded by the campaign',
  LeftTargetSet: 'no longer targeted',
  Graduated: 'own sign-ins qualified: moved to the enabled policy',
};
const NOTICE_TEXT: Record<string, string> = {
  deviceUpdate: 'Device update notice', deviceUpdateReminder: 'Device update reminder',
  passkeyRegistration: 'Passkey registration notice', passkeyRegistrationReminder: 'Passkey registration reminder',
  enforcementNotice: 'Enforcement notice', enforcementNoticeReminder: 'Enforcement notice reminder', enforced: 'Enforced notice',
};

/** The table rows that carry a detail, ascending: every row up to `limit`, beyond it those that need attention first. */
function detailRows(r: StatusReport, limit: number): number[] {
  const n = r.users.length;
  if (n <= limit) return Array.from({ length: n }, (_, i) => i);
  const pick = new Uint8Array(n);
  let taken = 0;
  for (let i = 0; i < n && taken < limit; i++) if (needsAttention(r.users[i])) { pick[i] = 1; taken++; }
  for (let i = 0; i < n && taken < limit; i++) if (!pick[i]) { pick[i] = 1; taken++; }
  const ix: number[] = [];
  for (let i = 0; i < n; i++) if (pick[i]) ix.push(i);
  return ix;
}

/**
 * The users whose detail the dashboard will carry, for buildDashboardDetail's `only` (so a large campaign's
 * timelines are built for them alone); null when every user's is carried.
 */
export function detailUsers(r: StatusReport, limit = DETAIL_LIMIT): Set<string> | null {
  if (r.users.length <= limit) return null;
  return new Set(detailRows(r, limit).map((i) => r.users[i].userId));
}

/**
 * The user detail: { o: origin minutes, s: strings, ix: table rows that carry a detail (ascending),
 * u: [[timeline, earlier, devices, methods] | 0] parallel to ix, left: rows left out }. At most `limit` rows
 * carry one: those that need attention first, then the others in table order.
 */
function detailData(r: StatusReport, detail: DashboardDetail | undefined, limit: number): unknown {
  if (!detail) return { o: 0, s: [], ix: [], u: [], left: 0, none: true };
  const n = r.users.length;
  const ix = detailRows(r, limit);
  const u = ix.map((i) => {
    const d = detail.users.get(r.users[i].userId);
    return d ? [d.timeline, d.earlier, d.devices ?? 0, d.methods ?? 0] : 0;
  });
  return { o: detail.origin, s: detail.strings, ix, u, left: n - ix.length };
}

/** One figure of the impact panel: the number (a link to the users behind it when they are known) and what it counts. */
function impactFigure(n: number, key: string, label: string, link?: { filter: Record<string, string>; what: string }, bad = false): string {
  const value = link ? countLink(n, link.filter, key, link.what, 'n') : `<span class="n" data-count="${key}">${fmt(n)}</span>`;
  return `<li${bad ? ' class="bad"' : ''}>${value}<span class="what">${label}</span></li>`;
}

/**
 * The recorded sign-in impact of the campaign's policy (`campaign impact --record`): the gate's verdict against
 * spec.enforcement.enableWhen, the users per result (would-block ones link to the table), the applications and
 * client types behind the would-block sign-ins (legacy ones marked), when it was measured; or how to get one.
 */
function impactHtml(r: StatusReport): string {
  const im = r.impact;
  const g = r.enforcement.enableWhen;
  const gate = `at least ${g.observedDays} days of sign-ins observed and at most ${g.maxWouldBlockUsersPercent} % of observed users would be blocked`;
  const howTo = `<code>campaign impact --campaign ${escapeHtml(r.campaign)} --record</code>`;
  if (!im) {
    return `<p>No impact report yet. Run ${howTo} to read the sign-in logs of the enforcement group's members and record what the report-only policy would have blocked; this page shows the last one.</p>` +
      `<p class="muted">Before the policy is enabled the campaign file asks for ${gate} (<code>spec.enforcement.enableWhen</code>).</p>`;
  }
  const u = im.users;
  const at = measuredAt(im);
  const out: string[] = [];
  out.push(`<p class="verdict ${im.gate.met ? 'met' : 'not-met'}" data-impact="gate"><strong>Gate ${im.gate.met ? 'met' : 'not met'}</strong>: ${escapeHtml(gateText(im))}</p>`);
  const age = im.ageDays === null ? '' : im.ageDays === 0 ? ' (today)' : ` (${im.ageDays} day${im.ageDays === 1 ? '' : 's'} ago)`;
  out.push(`<p class="muted">The campaign file asks for ${gate} (<code>spec.enforcement.enableWhen</code>). ` +
    `Measured ${at ? timeHtml(at) : 'at an unknown time'}${age} over ${im.days} days, while the policy was ${escapeHtml(policyStateText(im, r.enforcement.policyState))}.` +
    `${im.stale ? `<span class="tag" data-impact="stale">Stale</span> Run ${howTo} again before relying on it.` : ''}</p>`);
  const share = percentOf(u.wouldBlock, u.observed);
  const figures = [
    impactFigure(u.observed, 'impactObserved', `observed users${im.members !== undefined ? ` of ${fmt(im.members)} in the enforcement group` : ''}: the policy evaluated a sign-in of theirs`),
    impactFigure(u.satisfied, 'impactSatisfied', 'satisfied the policy'),
    impactFigure(u.interrupted, 'impactInterrupted', 'interrupted: asked for more during a sign-in'),
    impactFigure(u.wouldBlock, 'impactWouldBlock', `would be blocked${share ? ` (${share} of observed)` : ''}`, { filter: { impact: 'wouldBlock' }, what: 'users the policy would block' }, u.wouldBlock > 0),
    impactFigure(u.noPasskeySignIn, 'impactNoPasskey', 'no passkey sign-in in the window'),
  ];
  if (im.unobserved !== undefined) figures.push(impactFigure(im.unobserved, 'impactUnobserved', 'members not observed: no sign-in the policy evaluated'));
  if (r.enforcement.mode === 'graduated') {
    const link = hasStage(GRADUATED) ? { filter: { stage: GRADUATED }, what: 'graduated users' } : undefined;
    figures.push(impactFigure(graduatedCount(r), 'impactGraduated', 'graduated to the enabled policy', link));
  }
  out.push(`<ul class="impact-counts" aria-label="Users per result of the policy">${figures.join('')}</ul>`);
  const known = new Set(r.users.map((x) => x.userId));
  const outside = im.wouldBlock.filter((w) => !known.has(w.userId)).length;
  if (outside > 0) out.push(`<p class="muted">${fmt(outside)} of the users it would block ${outside === 1 ? 'is' : 'are'} not in the user table (no longer targeted).</p>`);
  if (im.wouldBlock.length) {
    const apps = tally(im.wouldBlock, 'apps');
    const clients = tally(im.wouldBlock, 'clientApps');
    const legacy = '<span class="tag">legacy: cannot use a passkey</span>';
    const table = (caption: string, head: string, rows: string[]) => `<div class="scroll"><table class="data"><caption>${caption}</caption>` +
      `<thead><tr><th scope="col">${head}</th><th scope="col" class="num">Users</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
    out.push('<div class="impact-tables">');
    out.push(table('Applications of the sign-ins it would block', 'Application', apps.map((a) => `<tr><td>${escapeHtml(a.name)}</td><td class="num">${fmt(a.users)}</td></tr>`)));
    out.push(table('Client types of the sign-ins it would block', 'Client type', clients.map((c) => `<tr data-client="${escapeHtml(c.name)}"${isLegacyClientApp(c.name) ? ' data-legacy="true"' : ''}><td>${escapeHtml(c.name)}${isLegacyClientApp(c.name) ? legacy : ''}</td><td class="num">${fmt(c.users)}</td></tr>`)));
    out.push('</div>');
    if (clients.some((c) => isLegacyClientApp(c.name))) {
      out.push('<p>Legacy clients (Exchange ActiveSync, IMAP, POP, SMTP and other clients without modern authentication) sign in with a password and can never use a passkey: move those users to a modern mail app or the browser before the policy is enabled.</p>');
    }
    const rows = im.wouldBlock.slice(0, 200).map((w) => `<tr><td><code>${escapeHtml(w.userPrincipalName)}</code></td><td>${escapeHtml(w.apps.join(', ')) || '—'}</td>` +
      `<td>${w.clientApps.map((c) => `${escapeHtml(c)}${isLegacyClientApp(c) ? ' (legacy)' : ''}`).join(', ') || '—'}</td></tr>`).join('');
    const more = im.wouldBlock.length > 200 ? `<p class="muted">… and ${fmt(im.wouldBlock.length - 200)} more: <code>campaign status --json</code> lists every one.</p>` : '';
    out.push(`<details><summary>List ${im.wouldBlock.length === 1 ? 'the user' : `the ${fmt(im.wouldBlock.length)} users`} it would block here</summary><div class="scroll"><table class="data" id="impact-users">` +
      `<caption class="sr-only">Users the policy would block, with the applications and client types of those sign-ins</caption>` +
      `<thead><tr><th scope="col">User</th><th scope="col">Applications</th><th scope="col">Client types</th></tr></thead><tbody>${rows}</tbody></table></div>${more}</details>`);
  }
  return out.join('');
}

/** Users past a grace period hold the end date: how many, since when, and what the admin can do; then the estimate's assumptions. */
/** Onboarding passes: who needs one (feature on or off), passes issued, queued and expired, the helpdesk queue. Never a pass. */
function onboardingHtml(r: StatusReport): string {
  const o = r.onboarding;
  const mode = o.enabled ? `On: passes go to ${o.deliverTo === 'manager' ? 'the users\' managers (users without one go to the helpdesk queue)' : 'the helpdesk, through its own verified process'}.` : 'Off in this campaign: the helpdesk issues passes by hand from the queue.';
  const need = o.needPass === null ? 'Not assessed yet: no observation.' : `${fmt(o.needPass)} user${o.needPass === 1 ? ' needs' : 's need'} an onboarding pass (a Temporary Access Pass): no registered method can satisfy MFA, so they cannot register a passkey on their own.`;
  const out = [`<p>${escapeHtml(need)} ${escapeHtml(mode)}</p>`];
  out.push(`<table class="onboarding"><thead><tr><th scope="col">Passes issued</th><th scope="col">Queued for the helpdesk</th><th scope="col">Expired unused</th></tr></thead><tbody><tr><td>${fmt(o.issued)}</td><td>${fmt(o.queued)}</td><td>${fmt(o.expired)}</td></tr></tbody></table>`);
  if (o.queue.length) {
    const rows = o.queue.slice(0, ONBOARDING_ROWS).map((q) => `<tr><td><code>${escapeHtml(q.userPrincipalName)}</code></td><td>${escapeHtml(q.displayName ?? '—')}</td><td>${escapeHtml(q.why)}</td><td>${q.since ? timeHtml(q.since.slice(0, 10)) : '—'}</td></tr>`);
    out.push(`<table class="onboarding-queue"><caption>Helpdesk queue</caption><thead><tr><th scope="col">User</th><th scope="col">Display name</th><th scope="col">Why</th><th scope="col">Since</th></tr></thead><tbody>${rows.join('')}</tbody></table>`);
    if (o.queue.length > ONBOARDING_ROWS) out.push(`<p class="muted">… and ${fmt(o.queue.length - ONBOARDING_ROWS)} more.</p>`);
    out.push(`<p class="muted">The queue with the helpdesk's instructions: <code>${escapeHtml(`campaign status --campaign ${r.campaign} --onboarding-queue queue.csv`)}</code></p>`);
  }
  return out.join('');
}
const ONBOARDING_ROWS = 50;

function stuckHtml(r: StatusReport): string {
  const out: string[] = [];
  const stuck = r.stuck;
  if (stuck) {
    out.push('<div class="stuck" role="note"><h3>Users holding the end date</h3>');
    out.push(`<p>${escapeHtml(stuck.message)}</p>`);
    if (stuck.users > 0) out.push(`<p><a class="show-users" href="${escapeHtml(usersHref({ exceeded: '1' }))}">${stuck.users === 1 ? 'Show the user' : `Show the ${fmt(stuck.users)} users`} past their grace period</a></p>`);
    if (stuck.actions.length) out.push(`<ul>${stuck.actions.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul>`);
    out.push('</div>');
  }
  if (r.estimateAssumptions) out.push(`<p class="muted">Assumptions: ${escapeHtml(r.estimateAssumptions)}</p>`);
  return out.join('');
}

const CSS = `
:root{--fg:#1e293b;--muted:#475569;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;--accent:#1d4ed8;--err:#b91c1c;--warn:#92400e;color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f5f9;padding:1px 4px;border-radius:4px;word-break:break-all}
header.top{background:#0f172a;color:#f8fafc;padding:20px 32px}
header.top h1{margin:0;font-size:22px;font-weight:650}
header.top p{margin:4px 0 0;color:#cbd5e1}
header.top code{background:#1e293b;color:#f8fafc}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:2px 10px;border-radius:999px;vertical-align:middle;margin-left:10px}
.top .proposal,.proposal{background:#fef3c7;border:1px solid #b45309;color:#451a03;padding:8px 12px;border-radius:6px}
.status-inProgress{background:#dbeafe;color:#1e3a8a}.status-paused{background:#fef3c7;color:#78350f}.status-ended,.status-notStarted{background:#e2e8f0;color:#1e293b}
main{max-width:1440px;margin:0 auto;padding:24px 32px 48px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin:0 0 20px}
section h2{font-size:17px;margin:0 0 12px}
.grid{display:grid;gap:20px;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));margin-bottom:20px}
.grid>section{margin:0}
.kpis{display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));margin-bottom:20px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;display:block;color:inherit;text-decoration:none}
a.kpi:hover{border-color:var(--accent)}a.kpi:hover .value{text-decoration:underline}
a.kpi .more{color:var(--accent);font-size:13px}
.kpi .label{color:var(--muted);font-size:13px}
.kpi .value{font-size:28px;font-weight:650;line-height:1.2;font-variant-numeric:tabular-nums}
.kpi .sub{color:var(--muted);font-size:13px}
.kpi.bad .value{color:var(--err)}
.goal{font-size:16px;margin:0 0 8px}
.muted{color:var(--muted)}
.ok-note{color:#166534;margin:0}
.chart{width:100%;height:auto;display:block}
.svg-label{font-size:16px;fill:#1e293b}.svg-value{font-size:16px;fill:#1e293b;font-weight:600}.svg-axis{font-size:12px;fill:#475569}
.bar-strip{width:100%;height:20px;border-radius:4px;display:block;margin:8px 0 12px}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:8px 0 0;padding:0;list-style:none;font-size:13px}
.legend li{display:flex;align-items:center;gap:6px}
.sw{width:12px;height:12px;border-radius:3px;display:inline-block}
${STAGE_CSS}
.readiness{display:grid;gap:10px;margin:0;padding:0;list-style:none}
.readiness li{border-left:4px solid var(--line);padding:2px 12px;display:grid;grid-template-columns:minmax(3em,max-content) 1fr;column-gap:16px;align-items:baseline}
.readiness .n{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums;grid-row:span 2;justify-self:start}
.readiness .r-3{border-color:#15803d}
.scope{margin:0 0 4px;font-size:13px}
a.count{color:var(--accent);text-decoration:underline;text-underline-offset:3px}
a.count.inline{font-weight:600}
.funnel{list-style:none;margin:0;padding:0;display:grid;gap:10px}
.funnel li{display:grid;grid-template-columns:minmax(6em,34%) minmax(48px,1fr) auto;gap:12px;align-items:center}
.f-label{min-width:0;overflow-wrap:anywhere;line-height:1.25}
.f-bar{display:block;width:100%;height:26px;border-radius:3px}
.f-value{font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.legend a.count{font-weight:600}
.sw-x{background:#b91c1c}
.show-users{display:inline-block;margin:4px 16px 0 0}
.stuck{border:1px solid #fca5a5;background:#fef2f2;border-radius:8px;padding:10px 14px;margin:12px 0}
.stuck h3{margin:0 0 6px;font-size:15px}.stuck p{margin:4px 0}
.tools{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin:0 0 8px}
.tools button,.dlg-head button{font:inherit;font-size:14px;padding:5px 12px;border:1px solid #94a3b8;border-radius:6px;background:#fff;color:var(--fg);cursor:pointer}
#table-status{margin:0;flex:1 1 300px}
#user-rows tr{cursor:pointer}#user-rows tr:hover{background:#f8fafc}
button.upn{all:unset;cursor:pointer;font-weight:500;color:var(--accent);text-decoration:underline;text-underline-offset:2px;overflow-wrap:anywhere}
button.upn:focus-visible{outline:3px solid #2563eb;outline-offset:2px;border-radius:2px}
dialog#user-detail{width:min(880px,calc(100vw - 32px));max-height:calc(100vh - 48px);border:1px solid var(--line);border-radius:10px;padding:0;color:var(--fg)}
dialog#user-detail::backdrop{background:rgba(15,23,42,.55)}
.dlg-head{display:flex;gap:12px;align-items:start;justify-content:space-between;padding:16px 20px;border-bottom:1px solid var(--line);position:sticky;top:0;background:#fff}
.dlg-head h2{margin:0;font-size:18px;overflow-wrap:anywhere}.dlg-head p{margin:2px 0 0;color:var(--muted)}
#detail-body{padding:12px 20px 20px}
#detail-body h3{font-size:15px;margin:16px 0 6px}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:6px 20px;margin:0}
.facts dt{color:var(--muted);font-size:13px}.facts dd{margin:0}
.tl{list-style:none;margin:0;padding:0;border-left:2px solid var(--line)}
.tl li{padding:4px 0 4px 14px;position:relative}
.tl li::before{content:"";position:absolute;left:-6px;top:11px;width:10px;height:10px;border-radius:50%;background:#94a3b8}
.tl li.t-s::before{background:#1d4ed8}.tl li.t-g::before,.tl li.t-a::before,.tl li.t-x::before{background:#b91c1c}.tl li.t-e::before{background:#15803d}
.tl time{display:inline-block;min-width:12.5em;color:var(--muted);font-size:13px;font-variant-numeric:tabular-nums}
.bad-text{color:var(--err);font-weight:600}
.readiness .what{font-weight:600}
.readiness .r-0{border-color:#b45309}.readiness .r-1{border-color:#1d4ed8}.readiness .r-2{border-color:#15803d}
.outlook{margin:0;padding-left:20px}.outlook li{margin:2px 0}
.alerts{list-style:none;margin:0;padding:0}
.alert{display:flex;gap:12px;padding:10px 0;border-top:1px solid var(--line)}.alert:first-child{border-top:0}
.alert p{margin:0}
.sev{flex:none;font-size:12px;font-weight:700;padding:2px 8px;border-radius:4px;height:fit-content}
.alert.error .sev{background:#fee2e2;color:#7f1d1d}.alert.warning .sev{background:#fef3c7;color:#78350f}
.names{columns:3 240px;margin:6px 0 0;padding-left:18px;font-size:13px}
details summary{cursor:pointer;color:var(--accent)}
.settings{margin:0}
.settings div{display:grid;grid-template-columns:240px minmax(0,1fr);gap:16px;padding:6px 0;border-bottom:1px solid #f1f5f9}
.settings dt{color:var(--muted)}.settings dd{margin:0;min-width:0;overflow-wrap:anywhere}
.controls{display:flex;flex-wrap:wrap;gap:12px 20px;align-items:end;margin-bottom:12px}
.controls label{display:flex;flex-direction:column;font-size:13px;color:var(--muted);gap:4px}
.controls label.check{flex-direction:row;align-items:center;color:var(--fg);font-size:14px}
input[type=search],select{font:inherit;padding:6px 10px;border:1px solid #94a3b8;border-radius:6px;background:#fff;color:var(--fg);min-width:160px}
input[type=search]{min-width:280px}
:focus-visible{outline:3px solid #2563eb;outline-offset:2px}
.scroll{overflow-x:auto}
table.data{border-collapse:collapse;width:100%;font-size:14px}
table.data th,table.data td{text-align:left;padding:7px 8px;border-bottom:1px solid var(--line);vertical-align:top}
#user-table td:nth-child(n+3):nth-child(-n+6){white-space:nowrap;font-variant-numeric:tabular-nums}
#user-table{min-width:1180px}#user-table td:first-child{min-width:250px}
#user-table td:nth-child(7){min-width:220px;font-size:13px}
#user-table td:nth-child(8),#user-table td:nth-child(9){font-size:13px}
table.data thead th{background:#f1f5f9;font-weight:600;position:sticky;top:0;vertical-align:bottom}
table.data .num{text-align:right;font-variant-numeric:tabular-nums}
th button{all:unset;cursor:pointer;display:inline-flex;gap:4px;align-items:center;font-weight:600}
th button:focus-visible{outline:3px solid #2563eb;outline-offset:2px;border-radius:3px}
th .arrow::after{content:"↕";color:#94a3b8}
th[aria-sort=ascending] .arrow::after{content:"▲";color:var(--fg)}
th[aria-sort=descending] .arrow::after{content:"▼";color:var(--fg)}
td .upn{font-weight:500}td .dn{display:block;color:var(--muted);font-size:13px}
.stage{display:inline-block;font-size:12px;font-weight:600;padding:1px 8px;border-radius:999px;white-space:nowrap}
.exceeded{color:var(--err);font-weight:600}
.pager{display:flex;gap:8px;align-items:center;margin-top:12px;flex-wrap:wrap}
.pager button{font:inherit;font-size:14px;padding:5px 12px;border:1px solid #94a3b8;border-radius:6px;background:#fff;color:var(--fg);cursor:pointer}
.pager button:disabled{color:#94a3b8;cursor:default}
.pager .info{margin-left:auto;color:var(--muted);font-size:14px}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
footer{color:var(--muted);font-size:13px;text-align:center;padding:0 0 32px}
.verdict{margin:0 0 8px;padding:8px 12px;border-radius:6px;border:1px solid}
.verdict.met{background:#f0fdf4;border-color:#86efac;color:#14532d}.verdict.not-met{background:#fef2f2;border-color:#fca5a5;color:#7f1d1d}
.impact-counts{display:grid;gap:10px 20px;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));margin:12px 0;padding:0;list-style:none}
.impact-counts li{border-left:4px solid var(--line);padding:2px 12px}
.impact-counts .n{display:block;font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
.impact-counts .bad{border-color:#b91c1c}
.impact-tables{display:grid;gap:16px 24px;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));margin:8px 0}
.impact-tables h3,.impact h3{font-size:15px;margin:8px 0 4px}
.tag{display:inline-block;font-size:12px;font-weight:600;padding:1px 8px;border-radius:999px;background:#fef3c7;color:#78350f;margin-left:6px}
@media print{.controls,.pager{display:none}}
`;

const SCRIPT = `(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var data = JSON.parse($('dashboard-data').textContent);
  var detailMeta = JSON.parse($('dashboard-detail').textContent);
  var detail = null, detailLoad = null;
  var n = data.n, T = null, S, SI, DL, X, P, D, A, R, NT, WB, rank = null, order = null, strRank = null, hay = null;
  var st = { q: '', stage: '', readiness: '', alert: '', exceeded: false, impact: '', sort: 'user', dir: 1, page: 0, size: 50 };
  var notEntered = data.stageKeys.length - 1;
  var view = new Int32Array(0);

  /** gzip bytes, 7 bits per character (encode7 in the generator) → the JSON they hold, decompressed by the browser (DecompressionStream: no network). */
  var UNSAFE_7 = [0, 13, 60];
  function unpack(id, length) {
    var text = $(id).textContent, bytes = new Uint8Array(length), o = 0, acc = 0, bits = 0;
    function put(v) {
      acc = ((acc << 7) | v) & 0x7fff;
      bits += 7;
      if (bits >= 8) { bits -= 8; if (o < length) bytes[o++] = (acc >> bits) & 0xff; }
    }
    for (var k = 0; k < text.length; k++) {
      var c = text.charCodeAt(k);
      if (c < 128) put(c);
      else { c -= 0xc0; put(UNSAFE_7[c >> 7]); put(c & 0x7f); }
    }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).text().then(JSON.parse);
  }
  /** The table's columns as typed arrays: filters and sorts run over them, rows are built only when shown. */
  function columns(t) {
    T = t;
    S = Int8Array.from(t.stage); SI = Int32Array.from(t.since); DL = Int32Array.from(t.deadline); X = Int32Array.from(t.exceeded);
    P = Int32Array.from(t.postponed); D = Int32Array.from(t.devices); A = Int32Array.from(t.alerts); R = Int8Array.from(t.readiness); NT = Int32Array.from(t.notice);
    WB = new Uint8Array(n);
    for (var w = 0; w < t.wb.length; w++) WB[t.wb[w]] = 1;
    if (t.order) {
      order = Int32Array.from(t.order);
      rank = new Int32Array(n);
      for (var k = 0; k < n; k++) rank[order[k]] = k;
    }
    var ix = t.strings.map(function (_, k) { return k; });
    ix.sort(function (a, b) { return t.strings[a] < t.strings[b] ? -1 : t.strings[a] > t.strings[b] ? 1 : 0; });
    strRank = new Int32Array(ix.length);
    for (var k2 = 0; k2 < ix.length; k2++) strRank[ix[k2]] = k2;
  }
  function dateOf(day) { return new Date(day * 86400000).toISOString().slice(0, 10); }
  function upnOf(i) { return T.dom[i] < 0 ? T.upn[i] : T.upn[i] + '@' + T.domains[T.dom[i]]; }
  /** The display name; 1 in the data stands for the one the UPN suggests ("megan.bowen" → "Megan Bowen"). */
  function dnOf(i) {
    var d = T.dn[i];
    if (d !== 1) return d;
    return T.upn[i].split(/[._-]/).filter(function (w) { return w.length > 0; }).map(function (w) { return w[0].toUpperCase() + w.slice(1); }).join(' ');
  }
  /** Row i as the table shows it: [upn, display name, stage, since, deadline, exceeded, postponed, devices, alert bits, readiness, last notice]. */
  function row(i) {
    return [upnOf(i), dnOf(i), S[i], SI[i] < 0 ? '' : dateOf(SI[i]), DL[i] < 0 ? '' : dateOf(DL[i]), X[i] === -1 ? '' : X[i] === -2 ? '?' : dateOf(X[i]),
      P[i] < 0 ? '' : dateOf(P[i]), D[i] < 0 ? '' : T.strings[D[i]], A[i], R[i], NT[i] < 0 ? '' : T.strings[NT[i]]];
  }
  /** Lower-case "upn\\ndisplay name" per row, built on the first search. */
  var hayBuilt = 0, doms = null;
  function buildHay(upto) {
    if (hay === null) { hay = new Array(n); doms = T.domains.map(function (d) { return '@' + d.toLowerCase(); }); }
    for (var k = hayBuilt; k < upto; k++) hay[k] = (T.upn[k] + (T.dom[k] < 0 ? '' : doms[T.dom[k]])).toLowerCase() + '\\n' + (T.dn[k] === 1 ? T.upn[k].replace(/[._-]+/g, ' ').trim() : T.dn[k]).toLowerCase();
    if (upto > hayBuilt) hayBuilt = upto;
  }
  function haystack() { buildHay(n); return hay; }
  /** Builds the search's names in slices while the page is idle, so the first search need not. */
  function prepareSearch() {
    if (hayBuilt >= n) return;
    buildHay(Math.min(n, hayBuilt + 20000));
    setTimeout(prepareSearch, 0);
  }
  var tbody = $('user-rows'), status = $('table-status');
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  var fmtN = function (x) { return x.toLocaleString('en-US'); };
  function pad(x) { return x < 10 ? '0' + x : String(x); }
  function human(ms, withTime) {
    var d = new Date(ms);
    var s = d.getUTCDate() + ' ' + MONTHS[d.getUTCMonth()] + ' ' + d.getUTCFullYear();
    return withTime ? s + ', ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ' UTC' : s;
  }
  /** A <time> for a YYYY-MM-DD value (or an ISO time when withTime). */
  function timeEl(value, withTime) {
    var ms = Date.parse(withTime ? value : value + 'T00:00:00Z');
    if (isNaN(ms)) return document.createTextNode(value);
    var t = document.createElement('time');
    t.setAttribute('datetime', value);
    t.title = withTime ? value : value + ' (UTC)';
    t.textContent = human(ms, withTime);
    return t;
  }
  function alertText(bits) {
    var out = [];
    for (var b = 0; b < data.alertKeys.length; b++) {
      if (!(bits & (1 << b))) continue;
      if (data.alertKeys[b] === 'disabled' && (bits & (1 << data.alertKeys.indexOf('AccountDisabled')))) continue;
      out.push(data.alertLabels[b]);
    }
    return out.join(', ');
  }

  /** A row's sort key in a column, -1 when empty (empty cells go last either way). */
  function key(col, i) {
    switch (col) {
      case 'stage': return S[i];
      case 'since': return SI[i];
      case 'deadline': return DL[i];
      case 'exceeded': return X[i] === -2 ? 5000000 : X[i];
      case 'postponed': return P[i];
      case 'devices': return D[i] < 0 ? -1 : strRank[D[i]];
      case 'alerts': return A[i] === 0 ? -1 : A[i];
      case 'readiness': return R[i];
      case 'notice': return NT[i] < 0 ? -1 : strRank[NT[i]];
    }
    return 0;
  }
  /**
   * Sorts the view by the column, then by UPN: each row becomes one number (key × n + UPN rank) and a
   * Float64Array sorts natively, so a million rows take a fraction of a second.
   */
  function sortView() {
    var m = view.length, f = new Float64Array(m), j, i, r, k, user = st.sort === 'user';
    for (j = 0; j < m; j++) {
      i = view[j]; r = rank ? rank[i] : i;
      if (user) f[j] = st.dir > 0 ? r : n - 1 - r;
      else { k = key(st.sort, i); f[j] = (k < 0 ? 20000000 : st.dir > 0 ? k : 10000000 - k) * n + r; }
    }
    f.sort();
    for (j = 0; j < m; j++) {
      r = user ? (st.dir > 0 ? f[j] : n - 1 - f[j]) : f[j] % n;
      view[j] = order ? order[r] : r;
    }
  }

  function stageValue() {
    if (st.stage === '') return -2;
    if (st.stage === 'notEnforced') return -3;
    if (st.stage === 'enforcedOrLater') return -4;
    return data.stageKeys.indexOf(st.stage);
  }

  function refilter() {
    if (T === null) return;
    var q = st.q, stage = stageValue(), rd = st.readiness === '' ? -2 : data.readinessKeys.indexOf(st.readiness);
    var mask = st.alert === '' || st.alert === 'any' ? 0 : (1 << data.alertKeys.indexOf(st.alert));
    var out = new Int32Array(n), m = 0, any = st.alert === 'any', ex = st.exceeded, h = q ? haystack() : null;
    for (var j = 0; j < n; j++) {
      if (stage >= 0 && S[j] !== stage) continue;
      if (stage === -3 && S[j] >= data.enforcedIndex && S[j] !== notEntered) continue;
      if (stage === -4 && (S[j] < data.enforcedIndex || S[j] === notEntered)) continue;
      if (st.impact === 'wouldBlock' && !WB[j]) continue;
      if (rd !== -2 && R[j] !== rd) continue;
      if (ex && X[j] === -1) continue;
      if (any && A[j] === 0 && X[j] === -1) continue;
      if (mask && !(A[j] & mask)) continue;
      if (h && h[j].indexOf(q) < 0) continue;
      out[m++] = j;
    }
    view = out.subarray(0, m);
    sortView();
    st.page = 0;
    render();
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    if (cls) td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }
  /** How far a date is from the day the data was observed: "in 3 days", "5 days ago". */
  function relDays(value) {
    var d = Math.round((Date.parse(value + 'T00:00:00Z') - Date.parse(data.asOfDay + 'T00:00:00Z')) / 86400000);
    if (isNaN(d)) return '';
    return d === 0 ? 'on the day observed' : d > 0 ? 'in ' + d + ' day' + (d === 1 ? '' : 's') : -d + ' day' + (d === -1 ? '' : 's') + ' ago';
  }
  function dateCell(tr, value, cls) {
    var td = cell(tr, value && value !== '?' ? '' : (value || '—'), cls);
    if (value && value !== '?') td.appendChild(timeEl(value, false));
    return td;
  }

  /** "enforcement notice failed 2026-12-03 (…)" with the date as a readable <time>. */
  function noticeNodes(parent, text) {
    var m = /^(.*) (\\d{4}-\\d{2}-\\d{2})(.*)$/.exec(text);
    if (!m) { parent.appendChild(document.createTextNode(text)); return parent; }
    parent.appendChild(document.createTextNode(m[1] + ' '));
    parent.appendChild(timeEl(m[2], false));
    parent.appendChild(document.createTextNode(m[3]));
    return parent;
  }
  function noticeCell(tr, text) {
    var td = cell(tr, text ? '' : '—');
    if (text) noticeNodes(td, text);
    return td;
  }

  var READINESS_PHRASE = { needsDeviceUpdate: 'needing a device update', needsPasskey: 'needing a passkey', ready: 'ready (passkey and compatible devices)', unassessed: 'not assessed' };
  function describe() {
    var parts = [];
    if (st.readiness !== '') parts.push(READINESS_PHRASE[st.readiness] || st.readiness);
    if (st.stage === 'notEnforced') parts.push('not yet enforced');
    else if (st.stage === 'enforcedOrLater') parts.push('enforced or graduated');
    else if (st.stage === 'notEntered') parts.push('not entered in the campaign');
    else if (st.stage !== '') parts.push('in the stage ' + data.stages[stageValue()]);
    if (st.exceeded) parts.push('past their grace period');
    if (st.alert === 'any') parts.push('with an alert');
    else if (st.alert === 'unread') parts.push('not read in the last run');
    else if (st.alert === 'disabled') parts.push('with a disabled account');
    else if (st.alert !== '') parts.push('with the alert ' + data.alertLabels[data.alertKeys.indexOf(st.alert)]);
    if (st.impact === 'wouldBlock') parts.push('whose sign-ins the policy would block');
    if (st.q) parts.push('matching "' + st.q + '"');
    return parts.join(', ');
  }

  function render() {
    if (T === null) return;
    var pages = Math.max(1, Math.ceil(view.length / st.size));
    if (st.page >= pages) st.page = pages - 1;
    var from = st.page * st.size, to = Math.min(view.length, from + st.size);
    var frag = document.createDocumentFragment();
    for (var j = from; j < to; j++) {
      var r = row(view[j]), tr = document.createElement('tr');
      tr.setAttribute('data-i', String(view[j]));
      var td = cell(tr, '');
      var upn = document.createElement('button'); upn.type = 'button'; upn.className = 'upn'; upn.textContent = r[0];
      upn.setAttribute('aria-haspopup', 'dialog'); upn.title = 'Open the timeline and devices of ' + r[0];
      td.appendChild(upn);
      if (r[1]) { var dn = document.createElement('span'); dn.className = 'dn'; dn.textContent = r[1]; td.appendChild(dn); }
      var sc = cell(tr, ''), badge = document.createElement('span');
      badge.className = 'stage st-' + r[2]; badge.textContent = data.stages[r[2]]; sc.appendChild(badge);
      dateCell(tr, r[3]);
      var dl = dateCell(tr, r[4]);
      if (r[4] && data.asOfDay) { var rel = el('span', relDays(r[4]), 'dn'); dl.appendChild(rel); }
      dateCell(tr, r[5], r[5] ? 'exceeded' : '');
      dateCell(tr, r[6]);
      cell(tr, r[7] || '—');
      cell(tr, alertText(r[8]) || '—');
      noticeCell(tr, r[10]);
      cell(tr, r[9] >= 0 ? data.readiness[r[9]] : '—');
      frag.appendChild(tr);
    }
    tbody.textContent = '';
    tbody.appendChild(frag);
    var what = describe();
    if (view.length === 0) status.textContent = 'No users' + (what ? ' ' + what : '') + '.';
    else if (!what) status.textContent = 'Showing ' + fmtN(from + 1) + '–' + fmtN(to) + ' of ' + fmtN(view.length) + ' users';
    else status.textContent = fmtN(view.length) + ' user' + (view.length === 1 ? '' : 's') + ' ' + what + ', showing ' + fmtN(from + 1) + '–' + fmtN(to) +
      (view.length !== n ? ' (filtered from ' + fmtN(n) + ')' : '');
    $('page-info').textContent = 'Page ' + fmtN(st.page + 1) + ' of ' + fmtN(pages);
    $('first-page').disabled = $('prev-page').disabled = st.page === 0;
    $('next-page').disabled = $('last-page').disabled = st.page >= pages - 1;
  }

  var heads = document.querySelectorAll('#user-table th[data-col]');
  function markSort() {
    for (var h = 0; h < heads.length; h++) {
      var col = heads[h].getAttribute('data-col');
      if (col === st.sort) heads[h].setAttribute('aria-sort', st.dir === 1 ? 'ascending' : 'descending');
      else heads[h].removeAttribute('aria-sort');
    }
  }
  for (var h = 0; h < heads.length; h++) {
    heads[h].querySelector('button').addEventListener('click', function (ev) {
      var col = ev.currentTarget.parentNode.getAttribute('data-col');
      if (st.sort === col) st.dir = -st.dir; else { st.sort = col; st.dir = 1; }
      markSort();
      sortView();
      st.page = 0;
      render();
    });
  }

  /** Puts the filter state into the controls. */
  function syncControls() {
    $('user-search').value = st.q;
    $('stage-filter').value = st.stage;
    $('readiness-filter').value = st.readiness;
    $('alert-filter').value = st.alert;
    $('exceeded-filter').checked = st.exceeded;
    if ($('impact-filter')) $('impact-filter').value = st.impact;
  }
  /** Applies a "#users?stage=enforced&readiness=…" fragment; false when the fragment is not about the table. */
  function applyHash(hash) {
    if (hash.indexOf('#users') !== 0) return false;
    var q = hash.indexOf('?') >= 0 ? hash.slice(hash.indexOf('?') + 1) : '';
    st.q = ''; st.stage = ''; st.readiness = ''; st.alert = ''; st.exceeded = false; st.impact = '';
    q.split('&').forEach(function (kv) {
      if (!kv) return;
      var k = kv.split('=')[0], v = decodeURIComponent(kv.slice(k.length + 1));
      if (k === 'stage' && (v === 'notEnforced' || v === 'enforcedOrLater' || data.stageKeys.indexOf(v) >= 0)) st.stage = v;
      else if (k === 'impact' && v === 'wouldBlock') st.impact = v;
      else if (k === 'readiness' && data.readinessKeys.indexOf(v) >= 0) st.readiness = v;
      else if (k === 'alert' && (v === 'any' || data.alertKeys.indexOf(v) >= 0)) st.alert = v;
      else if (k === 'exceeded') st.exceeded = v === '1';
      else if (k === 'q') st.q = v.toLowerCase();
    });
    syncControls();
    refilter();
    return true;
  }
  /** The fragment for the current filters, so the filtered view can be linked to. */
  function currentHash() {
    var p = [];
    if (st.stage) p.push('stage=' + st.stage);
    if (st.readiness) p.push('readiness=' + st.readiness);
    if (st.alert) p.push('alert=' + st.alert);
    if (st.exceeded) p.push('exceeded=1');
    if (st.impact) p.push('impact=' + st.impact);
    if (st.q) p.push('q=' + encodeURIComponent(st.q));
    return '#users' + (p.length ? '?' + p.join('&') : '');
  }
  function rememberHash() {
    try { history.replaceState(null, '', currentHash()); } catch (e) { /* file: pages in some browsers */ }
  }
  function showTable() {
    var heading = $('users-h');
    heading.scrollIntoView({ block: 'start' });
    heading.focus({ preventScroll: true });
  }
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest ? ev.target.closest('a[href^="#users"]') : null;
    if (!a) return;
    ev.preventDefault();
    var href = a.getAttribute('href');
    try { history.pushState(null, '', href); } catch (e) { /* ignore */ }
    applyHash(href);
    showTable();
  });
  window.addEventListener('hashchange', function () { if (applyHash(location.hash)) showTable(); });
  window.addEventListener('popstate', function () { applyHash(location.hash || '#users'); });

  var timer = null;
  $('user-search').addEventListener('input', function (ev) {
    var v = ev.target.value.trim().toLowerCase();
    clearTimeout(timer);
    timer = setTimeout(function () { st.q = v; refilter(); rememberHash(); }, n > 20000 ? 200 : 60);
  });
  $('stage-filter').addEventListener('change', function (ev) { st.stage = ev.target.value; refilter(); rememberHash(); });
  $('readiness-filter').addEventListener('change', function (ev) { st.readiness = ev.target.value; refilter(); rememberHash(); });
  $('alert-filter').addEventListener('change', function (ev) { st.alert = ev.target.value; refilter(); rememberHash(); });
  $('exceeded-filter').addEventListener('change', function (ev) { st.exceeded = ev.target.checked; refilter(); rememberHash(); });
  if ($('impact-filter')) $('impact-filter').addEventListener('change', function (ev) { st.impact = ev.target.value; refilter(); rememberHash(); });
  $('clear-filters').addEventListener('click', function () { applyHash('#users'); rememberHash(); });
  $('page-size').addEventListener('change', function (ev) { st.size = Number(ev.target.value); st.page = 0; render(); });
  $('first-page').addEventListener('click', function () { st.page = 0; render(); });
  $('prev-page').addEventListener('click', function () { st.page = Math.max(0, st.page - 1); render(); });
  $('next-page').addEventListener('click', function () { st.page++; render(); });
  $('last-page').addEventListener('click', function () { st.page = Math.ceil(view.length / st.size) - 1; render(); });

  // CSV of the users the table shows now (every page), built here: nothing leaves the page.
  function csvField(v) {
    var s = String(v);
    if (/^[=+\\-@\\t\\r]/.test(s)) s = "'" + s; // a spreadsheet must not read a value as a formula
    return /[",\\n\\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  $('download-csv').addEventListener('click', function () {
    var lines = [['userPrincipalName', 'displayName', 'stage', 'stageSince', 'deadline', 'exceededGrace', 'postponedUntil', 'devicesBelowMinimum', 'alerts', 'readiness', 'lastNotice'].join(',')];
    for (var j = 0; j < view.length; j++) {
      var r = row(view[j]);
      lines.push([r[0], r[1], data.stages[r[2]], r[3], r[4], r[5], r[6], r[7], alertText(r[8]), r[9] >= 0 ? data.readinessKeys[r[9]] : '', r[10]].map(csvField).join(','));
    }
    var blob = new Blob([lines.join('\\r\\n') + '\\r\\n'], { type: 'text/csv;charset=utf-8' });
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = data.campaign + '-users.csv';
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  });

  // The user detail: a modal dialog (Escape closes it, focus returns to the row's button).
  var dlg = $('user-detail'), opener = null;
  function h3(text) { var h = document.createElement('h3'); h.textContent = text; return h; }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; }
  function stageName(ix) { return ix >= 0 ? data.stages[ix] : 'not entered'; }
  function entryText(e, s) {
    switch (e[1]) {
      case 's': return (e[3] >= 0 ? stageName(e[3]) + ' → ' + stageName(e[2]) : 'Entered ' + stageName(e[2])) + ': ' + (data.reasons[s[e[4]]] || s[e[4]]);
      case 'n': {
        var t = (data.notices[s[e[2]]] || s[e[2]]) + (e[3] > 1 ? ' #' + e[3] : '') + ' sent';
        return t + (e[4] >= 0 ? ' · ' + (data.outcomes[s[e[4]]] || s[e[4]]) : ' · no delivery outcome recorded');
      }
      case 'p': return 'Postponed ' + stageName(e[2]).toLowerCase() + ' until ' + human((detail.o + e[3]) * 60000, false) + (e[4] > 1 ? ' (' + e[4] + ' times)' : '');
      case 'g': return 'Exceeded the ' + stageName(e[2]).toLowerCase() + ' grace period: no more reminders';
      case 'a': return 'Alert raised: ' + (data.alertLabels[data.alertKeys.indexOf(s[e[2]])] || s[e[2]]);
      case 'c': return 'Alert cleared: ' + (data.alertLabels[data.alertKeys.indexOf(s[e[2]])] || s[e[2]]);
      case 'e': return e[2] ? 'In the enforcement group (already a member)' : 'Added to the enforcement group';
      case 'x': return 'Adding to the enforcement group: ' + s[e[2]];
      case 'l': return 'Left the campaign: ' + (data.reasons[s[e[2]]] || s[e[2]]);
      default: return e.join(' ');
    }
  }
  var DEVICE_STATE = ['Meets the minimum OS', 'Below the minimum OS', 'Version not readable', 'Inactive or unsupported: does not count'];
  /** The detail entry of row ix (binary search over the rows that carry one), 0 when it has none. */
  function detailOf(ix) {
    var lo = 0, hi = detail.ix.length - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1, v = detail.ix[mid];
      if (v === ix) return detail.u[mid] || 0;
      if (v < ix) lo = mid + 1; else hi = mid - 1;
    }
    return null;
  }
  function openDetail(ix, from) {
    opener = from;
    if (detail !== null) return showDetail(ix);
    if (detailLoad === null) detailLoad = unpack('dashboard-timelines', detailMeta.length).then(function (d) { detail = d; detail.none = detailMeta.none; });
    detailLoad.then(function () { if (opener === from) showDetail(ix); });
  }
  function showDetail(ix) {
    var r = row(ix), found = detailOf(ix), d = found || 0, s = detail.s, absent = found === null && !detail.none;
    $('detail-h').textContent = r[1] || r[0];
    $('detail-sub').textContent = r[0];
    var body = $('detail-body');
    body.textContent = '';
    var facts = el('dl', '', 'facts');
    function fact(k, v) { var div = el('div'); div.appendChild(el('dt', k)); var dd = el('dd'); if (typeof v === 'string') dd.textContent = v; else dd.appendChild(v); div.appendChild(dd); facts.appendChild(div); }
    fact('Stage', data.stages[r[2]]);
    if (r[3]) fact('Since', timeEl(r[3], false));
    if (r[4]) fact('Deadline', timeEl(r[4], false));
    if (r[5]) { var ex = r[5] === '?' ? el('span', 'yes') : timeEl(r[5], false); fact('Exceeded grace period', ex); }
    if (r[6]) fact('Postponed until', timeEl(r[6], false));
    fact('Readiness', r[9] >= 0 ? data.readiness[r[9]] : 'not observed');
    if (r[8]) fact('Alerts', alertText(r[8]));
    if (r[10]) fact('Last notice', noticeNodes(el('span'), r[10]));
    body.appendChild(facts);

    body.appendChild(h3('Timeline'));
    var tl = d ? d[0] : [];
    if (detail.none) body.appendChild(el('p', data.proposal ? 'Nothing has happened yet: this page is a proposal.' : 'This page was written without the ledger\\'s per-user events.', 'muted'));
    else if (absent) {
      var note = el('p', '', 'muted absent');
      note.appendChild(document.createTextNode('With ' + fmtN(n) + ' users, this page carries the timeline, devices and methods of ' + fmtN(detail.ix.length) +
        ' of them: first those with an alert, past a grace period, not read in the last run or with a disabled account. For this user\\'s timeline, run '));
      note.appendChild(el('code', 'campaign history --campaign ' + data.campaign + ' --user ' + r[0]));
      note.appendChild(document.createTextNode(': it lists every event the ledger holds for them.'));
      body.appendChild(note);
    }
    else if (!tl.length) body.appendChild(el('p', 'Nothing recorded for this user yet.', 'muted'));
    else {
      if (d[1]) body.appendChild(el('p', d[1] + ' earlier event' + (d[1] === 1 ? '' : 's') + ' not shown: campaign history --campaign ' + data.campaign + ' --user ' + r[0] + ' lists every one.', 'muted'));
      var ol = el('ol', '', 'tl');
      for (var k = 0; k < tl.length; k++) {
        var li = el('li', '', 't-' + tl[k][1]);
        var iso = new Date((detail.o + tl[k][0]) * 60000).toISOString();
        li.appendChild(timeEl(iso, true));
        li.appendChild(document.createTextNode(' ' + entryText(tl[k], s)));
        ol.appendChild(li);
      }
      body.appendChild(ol);
    }

    body.appendChild(h3('Devices'));
    var devs = d ? d[2] : 0;
    if (!devs) body.appendChild(el('p', detail.none || absent ? 'Not included in this page.' : 'Not in the last observation.', 'muted'));
    else if (!devs.length) body.appendChild(el('p', 'No devices registered to this user.', 'muted'));
    else {
      var table = el('table', '', 'data devices'), thead = el('thead'), hr = el('tr');
      ['Device', 'Platform', 'OS version', 'Minimum OS'].forEach(function (t) { var th = el('th', t); th.setAttribute('scope', 'col'); hr.appendChild(th); });
      thead.appendChild(hr); table.appendChild(thead);
      var tb = el('tbody');
      devs.forEach(function (dv) {
        var tr = el('tr');
        tr.appendChild(el('td', dv[0]));
        tr.appendChild(el('td', s[dv[1]]));
        tr.appendChild(el('td', dv[2] || 'unknown'));
        tr.appendChild(el('td', DEVICE_STATE[dv[3]], dv[3] === 1 ? 'bad-text' : ''));
        tb.appendChild(tr);
      });
      table.appendChild(tb);
      body.appendChild(table);
    }
    body.appendChild(h3('Registered authentication methods'));
    var methods = d ? d[3] : 0;
    if (!methods) body.appendChild(el('p', absent ? 'Not included in this page.' : 'Not in the last observation.', 'muted'));
    else if (!methods.length) body.appendChild(el('p', 'None registered.', 'muted'));
    else { var ul = el('ul'); methods.forEach(function (m) { ul.appendChild(el('li', s[m])); }); body.appendChild(ul); }

    if (!dlg.open) dlg.showModal();
    $('detail-close').focus();
  }
  dlg.addEventListener('close', function () { if (opener && document.contains(opener)) opener.focus(); opener = null; });
  $('detail-close').addEventListener('click', function () { dlg.close(); });
  dlg.addEventListener('click', function (ev) { if (ev.target === dlg) dlg.close(); });
  tbody.addEventListener('click', function (ev) {
    var tr = ev.target.closest('tr');
    if (!tr) return;
    openDetail(Number(tr.getAttribute('data-i')), tr.querySelector('button.upn'));
  });

  markSort();
  status.textContent = 'Loading ' + fmtN(n) + ' users…';
  unpack('dashboard-rows', data.length).then(function (t) {
    columns(t);
    if (!(location.hash && applyHash(location.hash))) refilter();
    document.documentElement.setAttribute('data-ready', 'true');
    if (n > 20000) setTimeout(prepareSearch, 250);
  }, function (e) {
    status.textContent = 'This browser could not open the user table (' + e + '): campaign status --json has the same data.';
  });
})();`;

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64');
// Hashes rather than 'unsafe-inline': only this exact script and stylesheet may run in the page.
const CSP = `default-src 'none'; script-src 'sha256-${sha256(SCRIPT)}'; style-src 'sha256-${sha256(CSS)}'; img-src data:; base-uri 'none'; form-action 'none'`;

/** A KPI card; with a filter it is a link to the users behind the number. */
function kpi(label: string, value: string, sub: string, count?: string, bad = false, filter?: Record<string, string>): string {
  const inner = `<div class="label">${label}</div><div class="value"${count ? ` data-count="${count}"` : ''}>${value}</div><div class="sub">${sub}</div>`;
  if (!filter) return `<div class="kpi${bad ? ' bad' : ''}">${inner}</div>`;
  return `<a class="kpi${bad ? ' bad' : ''}" href="${escapeHtml(usersHref(filter))}">${inner}<div class="more">Show these users</div></a>`;
}

export interface DashboardOptions {
  /**
   * A proposal (`campaign plan --html`): the campaign as its first run would leave it, before anything is
   * deployed or anyone told. The page says so at the top and in its title.
   */
  proposal?: boolean;
  /** Each user's timeline, devices and methods (timeline.ts) for the user detail; without it the detail says so. */
  detail?: DashboardDetail;
  /**
   * Users who carry their timeline, devices and methods in the page (default DETAIL_LIMIT): beyond it, users
   * who need attention come first, and the detail of the others says how to list their history.
   */
  detailLimit?: number;
}

export function renderDashboard(r: StatusReport, campaign: Campaign, opts: DashboardOptions = {}): string {
  const c = r.counts;
  const start = r.daily.length ? r.daily[0].date : null;
  const duration = start && r.estimatedEnd ? dayOf(`${r.estimatedEnd}T00:00:00Z`) - dayOf(`${start}T00:00:00Z`) : null;
  const left = r.asOf && r.estimatedEnd ? Math.max(0, dayOf(`${r.estimatedEnd}T00:00:00Z`) - dayOf(r.asOf)) : null;
  const errors = r.alerts.filter((a) => a.severity === 'error').length;
  // The users the alerts name: alert kinds, past a grace period, unread, disabled (the table's "with an alert").
  const alertUsers = r.users.reduce((n, u) => n + (needsAttention(u) ? 1 : 0), 0);
  const policy = campaign.spec.enforcement.policyState === 'reportOnly' ? 'report-only' : 'enforcing';
  // Graduated mode: graduated users are enforced too (by the enabled policy), so the Enforced figure counts them.
  const graduatedShown = shownStages(r).some((s) => s === GRADUATED);
  const stageRows = shownStages(r).map((s) => `<li><span class="sw sw-${stageIndex(s)}"></span>${stageTitle(s)} ${countLink(stageCount(r, s), { stage: s }, s, `users in the stage ${stageTitle(s)}`)}</li>`).join('');
  // A proposal's "last run" is the run the plan would make: say so, and count only the runs before it.
  const which = r.runs <= 1 ? 'first' : 'next';
  const lastRun = opts.proposal && r.lastRun
    ? `Proposed ${which} run at ${timeHtml(r.lastRun.startedAt)} (not run: a plan writes nothing) · ${r.runs - 1} run${r.runs - 1 === 1 ? '' : 's'} recorded before it`
    : r.lastRun
    ? `Last run <code>${escapeHtml(r.lastRun.runId)}</code> at ${timeHtml(r.lastRun.startedAt)} (${r.lastRun.ok === true ? 'ok' : r.lastRun.ok === false ? 'failed' : 'unfinished'}) · ${r.runs} run${r.runs === 1 ? '' : 's'}`
    : 'No reconcile run yet';
  const stageOptions = [...STAGES.map((s) => `<option value="${s}">${stageTitle(s)}</option>`), `<option value="notEntered">${NOT_ENTERED}</option>`, '<option value="notEnforced">Not yet enforced</option>'].join('');
  const readinessOptions = READINESS_KEYS.map((k, i) => `<option value="${k}">${[READINESS_TITLE.needsDeviceUpdate, READINESS_TITLE.needsPasskey, READINESS_TITLE.ready, 'Not assessed'][i]}</option>`).join('');
  const alertOptions = ALERT_BITS.map((k, i) => `<option value="${k}">${k === 'disabled' ? 'Account disabled (any)' : ALERT_BIT_LABELS[i]}</option>`).join('');
  const th = (col: string, label: string) => `<th scope="col" data-col="${col}"><button type="button">${label}<span class="arrow" aria-hidden="true"></span></button></th>`;
  const limit = opts.detailLimit ?? DETAIL_LIMIT;
  const table = {
    campaign: r.campaign, asOfDay: r.asOf ? r.asOf.slice(0, 10) : '', proposal: opts.proposal === true, reasons: REASON_TEXT, notices: NOTICE_TEXT, outcomes: DELIVERY_OUTCOME_TITLE,
    stages: [...STAGES.map((s) => stageTitle(s)), NOT_ENTERED],
    stageKeys: [...STAGES, 'notEntered'],
    // Stage indexes from this one up to "not entered" (excluded) have reached enforcement.
    enforcedIndex: stageIndex('enforced'),
    readiness: [READINESS_TITLE.needsDeviceUpdate, READINESS_TITLE.needsPasskey, READINESS_TITLE.ready, 'Not assessed'],
    readinessKeys: READINESS_KEYS,
    alertKeys: ALERT_BITS,
    alertLabels: ALERT_BIT_LABELS,
    n: r.users.length,
    // The columns (tableColumns) compressed in the element dashboard-rows: their length in bytes.
    length: 0,
  };
  const rows = packed(tableColumns(r));
  table.length = rows.length;
  const timelines = packed(detailData(r, opts.detail, limit));
  const detailPayload = { none: !opts.detail, limit, length: timelines.length };

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${escapeHtml(r.campaign)} · ${opts.proposal ? 'passkey campaign proposal' : 'passkey campaign dashboard'}</title>
<style>${CSS}</style>
</head>
<body>
<header class="top">
<h1>${escapeHtml(r.campaign)}<span class="badge status-${escapeHtml(r.status)}">${escapeHtml(r.status)}</span></h1>
<p>${lastRun}${r.asOf ? ` · data observed ${timeHtml(r.asOf)}` : ''}</p>
${opts.proposal ? `<p class="proposal" role="note"><strong>Proposal</strong>: what the campaign's ${which} run would do, computed from the tenant as it is now. ${which === 'first' ? 'Nothing has been deployed and nobody has been told.' : 'Nothing in it has happened yet.'}</p>` : ''}
</header>
<main>
<section aria-labelledby="goal-h">
<h2 id="goal-h">Campaign goal</h2>
<p class="goal">${escapeHtml(r.description || 'Passkeys for every targeted user')}: move every targeted user to phishing-resistant passkey sign-in, enforced by a Conditional Access policy (currently ${policy}) for the campaign's enforcement group.</p>
</section>
<div class="kpis">
${kpi('Targeted users', fmt(c.targeted), `${fmt(c.excluded)} excluded`, 'targeted', false, {})}
${graduatedShown
  ? kpi('Enforced', fmt(fromStage(r, 'enforced')), `${pct(fromStage(r, 'enforced'), c.targeted)} of targeted · ${fmt(graduatedCount(r))} graduated`, undefined, false, { stage: 'enforcedOrLater' })
  : kpi('Enforced', fmt(c.enforced), `${pct(c.enforced, c.targeted)} of targeted`, undefined, false, { stage: 'enforced' })}
${kpi('Exceeded grace period', fmt(c.exceededGrace), 'no more reminders', 'exceededGrace', c.exceededGrace > 0, { exceeded: '1' })}
${kpi('Estimated end', r.estimatedEnd ? timeHtml(r.estimatedEnd) : 'unknown', duration !== null ? `≈ ${duration} days in total${left !== null ? `, ${left} to go` : ''}` : 'needs an observation', 'estimatedEnd')}
${kpi('Alerts', fmt(r.alerts.length), `${errors} error${errors === 1 ? '' : 's'} · ${fmt(alertUsers)} user${alertUsers === 1 ? '' : 's'} concerned`, 'alerts', errors > 0, { alert: 'any' })}
</div>
<div class="grid">
<section aria-labelledby="readiness-h">
<h2 id="readiness-h">Readiness of targeted users</h2>
${readinessHtml(r)}
</section>
<section aria-labelledby="funnel-h">
<h2 id="funnel-h">Stage funnel</h2>
${funnelHtml(r)}
<ul class="legend" aria-label="Users per stage">${stageRows}</ul>
</section>
</div>
<section aria-labelledby="onboarding-h" id="onboarding">
<h2 id="onboarding-h">Onboarding passes</h2>
${onboardingHtml(r)}
</section>
${opts.proposal ? '' : `<section aria-labelledby="impact-h" id="impact" class="impact">
<h2 id="impact-h">Sign-in impact of the Conditional Access policy</h2>
${impactHtml(r)}
</section>`}
<section aria-labelledby="timeline-h">
<h2 id="timeline-h">Progress over the campaign's life</h2>
${timelineSvg(r.daily)}
<ul class="legend" aria-hidden="true">${shownStages(r).map((s) => `<li><span class="sw sw-${stageIndex(s)}"></span>${stageTitle(s)}</li>`).join('')}<li><span class="sw sw-x"></span>Exceeded grace period (dashed line)</li></ul>
${timelineTable(r.daily)}
</section>
<div class="grid">
<section aria-labelledby="outlook-h">
<h2 id="outlook-h">Outlook and estimated end</h2>
<ul class="outlook">${r.outlook.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>
${stuckHtml(r)}
${r.warnings.map((w) => `<p class="muted">Note: ${escapeHtml(w)}</p>`).join('')}
</section>
<section aria-labelledby="alerts-h">
<h2 id="alerts-h">Alerts</h2>
${alertsHtml(r)}
</section>
</div>
<section aria-labelledby="users-h" id="users">
<h2 id="users-h" tabindex="-1">Users</h2>
<div class="controls" role="search">
<label for="user-search">Search by UPN or name<input type="search" id="user-search" autocomplete="off" placeholder="e.g. megan or @contoso.com"></label>
<label for="stage-filter">Stage<select id="stage-filter"><option value="">All stages</option>${stageOptions}</select></label>
<label for="readiness-filter">Readiness<select id="readiness-filter"><option value="">Any readiness</option>${readinessOptions}</select></label>
<label for="alert-filter">Alerts<select id="alert-filter"><option value="">With or without alerts</option><option value="any">With any alert</option>${alertOptions}</select></label>
${r.impact ? '<label for="impact-filter">Sign-in impact<select id="impact-filter"><option value="">Any</option><option value="wouldBlock">Would be blocked by the policy</option></select></label>' : ''}
<label class="check" for="exceeded-filter"><input type="checkbox" id="exceeded-filter"> Exceeded grace period only</label>
<label for="page-size">Rows per page<select id="page-size"><option>25</option><option selected>50</option><option>100</option><option>250</option></select></label>
</div>
<div class="tools">
<p id="table-status" role="status" aria-live="polite" class="muted"></p>
<button type="button" id="clear-filters">Clear filters</button>
<button type="button" id="download-csv">Download CSV of these users</button>
</div>
<div class="scroll">
<table class="data" id="user-table">
<caption class="sr-only">Targeted users; select a column heading to sort, a user to open their timeline and devices</caption>
<thead><tr>${th('user', 'User')}${th('stage', 'Stage')}${th('since', 'Since')}${th('deadline', 'Deadline <span class="sr-only">(and how far from the day the data was observed)</span>')}${th('exceeded', 'Exceeded grace period')}${th('postponed', 'Postponed until')}${th('devices', 'Devices below minimum OS')}${th('alerts', 'Alerts')}${th('notice', 'Last notice')}${th('readiness', 'Readiness')}</tr></thead>
<tbody id="user-rows"></tbody>
</table>
</div>
<nav class="pager" aria-label="User table pages">
<button type="button" id="first-page">First</button><button type="button" id="prev-page">Previous</button>
<button type="button" id="next-page">Next</button><button type="button" id="last-page">Last</button>
<span class="info" id="page-info"></span>
</nav>
<noscript><p>The user table needs JavaScript; <code>campaign status --json</code> has the same data.</p></noscript>
</section>
<section aria-labelledby="settings-h">
<h2 id="settings-h">Campaign settings</h2>
${settingsHtml(campaign)}
</section>
</main>
<dialog id="user-detail" aria-labelledby="detail-h">
<div class="dlg-head"><div><h2 id="detail-h"></h2><p id="detail-sub"></p></div><button type="button" id="detail-close">Close</button></div>
<div id="detail-body"></div>
</dialog>
<footer>Generated by <code>campaign ${opts.proposal ? 'plan' : 'status'} --html</code> from the campaign ledger and the last observation. Self-contained: no network access.</footer>
<script type="application/json" id="dashboard-data">${jsonForScript(table)}</script>
<script type="application/json" id="dashboard-detail">${jsonForScript(detailPayload)}</script>
<script type="application/octet-stream" id="dashboard-rows">${rows.text}</script>
<script type="application/octet-stream" id="dashboard-timelines">${timelines.text}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
