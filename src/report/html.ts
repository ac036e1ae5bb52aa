// The HTML dashboard: one self-contained file (inline CSS, inline SVG charts drawn here, a small inline
// script for the user table). No network fetch: a Content-Security-Policy with default-src 'none' makes the
// browser refuse any. The per-user data rides along as JSON in a non-executed script element, paged in the
// browser, so 100,000 users stay usable.
import { createHash } from 'node:crypto';
import { ROLE_DISPLAY_NAMES, roleName, type SupportedRoleName } from '../campaign/roles';
import type { Campaign } from '../campaign/types';
import type { AlertKind } from '../contracts/vocabulary';
import { dayOf } from '../engine/time';
import { STAGES, type Stage } from '../engine/types';
import { deliveryText, READINESS_TITLE, STAGE_TITLE, type DayCounts, type StatusReport } from './model';

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

const STAGE_COLOR: Record<Stage, string> = {
  deviceUpdate: '#b45309',
  passkeyRegistration: '#1d4ed8',
  enforcementNotice: '#7c3aed',
  enforced: '#15803d',
};
const NOT_ENTERED = 'Not entered';
const ALERT_LABEL: Record<AlertKind, string> = {
  EnforcedWithoutPasskey: 'Enforced without passkey',
  OutsideFido2PolicyScope: 'Outside FIDO2 policy scope',
  NotInEnforcementGroup: 'Not in enforcement group',
  Unreachable: 'Unreachable',
  AccountDisabled: 'Account disabled',
};

const fmt = (n: number): string => n.toLocaleString('en-US');
const pct = (n: number, of: number): string => (of > 0 ? `${Math.round((100 * n) / of)}%` : '–');

/** A round axis maximum at or above `max` (1, 2, 2.5, 5 × 10^k). */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function funnelSvg(r: StatusReport): string {
  const c = r.counts;
  const steps: Array<[string, number, string]> = [
    ['Targeted', c.targeted, '#475569'],
    ['Devices meet the minimum OS', c.passkeyRegistration + c.enforcementNotice + c.enforced, STAGE_COLOR.passkeyRegistration],
    ['Passkey registered', c.enforcementNotice + c.enforced, STAGE_COLOR.enforcementNotice],
    ['Enforced', c.enforced, STAGE_COLOR.enforced],
  ];
  const W = 640, row = 44, labelW = 230, barMax = W - labelW - 110;
  const max = Math.max(1, c.targeted);
  const parts = steps.map(([label, n, color], i) => {
    const y = i * row;
    const w = Math.max(n > 0 ? 2 : 0, Math.round((barMax * n) / max));
    return `<g><text x="0" y="${y + 25}" class="svg-label">${escapeHtml(label)}</text>` +
      `<rect x="${labelW}" y="${y + 8}" width="${barMax}" height="26" rx="3" fill="#eef2f7"/>` +
      `<rect x="${labelW}" y="${y + 8}" width="${w}" height="26" rx="3" fill="${color}"/>` +
      `<text x="${labelW + barMax + 10}" y="${y + 26}" class="svg-value">${fmt(n)} · ${pct(n, c.targeted)}</text></g>`;
  });
  const desc = steps.map(([l, n]) => `${l}: ${n}`).join('; ');
  return `<svg viewBox="0 0 ${W} ${steps.length * row + 4}" role="img" aria-labelledby="funnel-title funnel-desc" class="chart">` +
    `<title id="funnel-title">Stage funnel</title><desc id="funnel-desc">${escapeHtml(desc)}</desc>${parts.join('')}</svg>`;
}

function readinessSvg(r: StatusReport): string {
  const rd = r.readiness;
  const segs: Array<[string, number, string]> = [
    [READINESS_TITLE.needsDeviceUpdate, rd.needsDeviceUpdate, STAGE_COLOR.deviceUpdate],
    [READINESS_TITLE.needsPasskey, rd.needsPasskey, STAGE_COLOR.passkeyRegistration],
    [READINESS_TITLE.ready, rd.ready, STAGE_COLOR.enforced],
    ['Not assessed', rd.unassessed, '#64748b'],
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
  return `<svg viewBox="0 0 ${W} 20" preserveAspectRatio="none" class="bar-strip" role="img" aria-label="${escapeHtml(segs.map(([l, n]) => `${l}: ${n}`).join('; '))}">${rects.join('')}</svg>`;
}

/** Daily stacked bars of stage counts, enforced at the bottom so progress grows upward. */
function timelineSvg(daily: DayCounts[]): string {
  if (daily.length === 0) return '<p class="muted">No reconcile run has been recorded yet.</p>';
  const W = 960, H = 280, L = 52, R = 12, T = 12, B = 44;
  const pw = W - L - R, ph = H - T - B;
  const order: Stage[] = ['enforced', 'enforcementNotice', 'passkeyRegistration', 'deviceUpdate'];
  const totals = daily.map((d) => order.reduce((s, k) => s + d[k], 0));
  const max = niceMax(Math.max(...totals));
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
      return h > 0 ? `<rect x="${(cx - bw / 2).toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="${STAGE_COLOR[k]}"/>` : '';
    }).join('');
    const tip = `${d.date}: ${order.map((k) => `${STAGE_TITLE[k].toLowerCase()} ${d[k]}`).join(', ')}; exceeded grace ${d.exceededGrace}${d.runs === 0 ? ' (no run that day)' : ''}`;
    out.push(`<g class="day"><title>${escapeHtml(tip)}</title>${rects}</g>`);
    if (i % every === 0 || i === daily.length - 1) {
      if (i === daily.length - 1 && i % every !== 0 && i % every < every / 2) return; // avoid overlapping the previous label
      out.push(`<text x="${cx.toFixed(1)}" y="${H - B + 18}" text-anchor="middle" class="svg-axis">${d.date.slice(5)}</text>`);
    }
  });
  out.push(`<line x1="${L}" x2="${W - R}" y1="${T + ph}" y2="${T + ph}" stroke="#94a3b8"/>`);
  const first = daily[0].date, last = daily[daily.length - 1].date;
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="timeline-title timeline-desc" class="chart">` +
    `<title id="timeline-title">Users per stage at the end of each day</title>` +
    `<desc id="timeline-desc">Stacked daily counts from ${first} to ${last}; the table below the chart has the same numbers.</desc>${out.join('')}` +
    `<text x="${L}" y="${H - 6}" class="svg-axis">${first.slice(0, 4)}</text></svg>`;
}

function timelineTable(daily: DayCounts[]): string {
  if (daily.length === 0) return '';
  const rows = daily.map((d) => `<tr><td>${d.date}</td>${STAGES.map((k) => `<td class="num">${fmt(d[k])}</td>`).join('')}<td class="num">${fmt(d.exceededGrace)}</td><td class="num">${d.runs}</td></tr>`).join('');
  return `<details><summary>Daily numbers as a table</summary><div class="scroll"><table class="data"><caption class="sr-only">Users per stage at the end of each day</caption>` +
    `<thead><tr><th scope="col">Date</th>${STAGES.map((k) => `<th scope="col" class="num">${STAGE_TITLE[k]}</th>`).join('')}<th scope="col" class="num">Exceeded grace</th><th scope="col" class="num">Runs</th></tr></thead>` +
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
  ];
  return `<dl class="settings">${rows.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('')}</dl>`;
}

function alertsHtml(r: StatusReport): string {
  if (r.alerts.length === 0) return '<p class="ok-note">No alerts.</p>';
  const items = r.alerts.map((a) => {
    const names = a.users.slice(0, 200).map((u) => `<li><code>${escapeHtml(u.userPrincipalName)}</code></li>`).join('');
    const more = a.users.length > 200 ? `<li class="muted">… and ${fmt(a.users.length - 200)} more: filter the user table</li>` : '';
    const detail = a.users.length ? `<details><summary>${fmt(a.users.length)} user${a.users.length === 1 ? '' : 's'}</summary><ul class="names">${names}${more}</ul></details>` : '';
    return `<li class="alert ${a.severity}" data-alert="${a.code}"><span class="sev">${a.severity === 'error' ? 'Error' : 'Warning'}</span>` +
      `<div><p>${escapeHtml(a.message)}</p>${detail}</div></li>`;
  });
  return `<ul class="alerts">${items.join('')}</ul>`;
}

/** Per-user rows as compact arrays: [upn, displayName, stage index (4 = not entered), since, deadline, exceeded, postponed, devices, alerts, readiness, last notice]. */
function tableData(r: StatusReport): unknown {
  const idx = new Map<Stage, number>(STAGES.map((s, i) => [s, i]));
  return {
    stages: [...STAGES.map((s) => STAGE_TITLE[s]), NOT_ENTERED],
    readiness: { needsDeviceUpdate: 'Needs device update', needsPasskey: 'Needs passkey', ready: 'Ready', unassessed: 'Not assessed' },
    users: r.users.map((u) => [
      u.userPrincipalName,
      u.displayName ?? '',
      u.stage === null ? 4 : idx.get(u.stage)!,
      u.stageSince ? u.stageSince.slice(0, 10) : '',
      u.deadline ?? '',
      u.exceededGraceAt ? u.exceededGraceAt.slice(0, 10) : u.exceededGrace ? '?' : '',
      u.postponedUntil ? u.postponedUntil.slice(0, 10) : '',
      u.devicesBelowMinimum.join('; '),
      u.alerts.map((a) => ALERT_LABEL[a]).join(', '),
      u.readiness ?? '',
      u.delivery ? deliveryText(u.delivery) : '',
    ]),
  };
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
.proposal{background:#fef3c7;border:1px solid #b45309;color:#451a03;padding:8px 12px;border-radius:6px}
.status-inProgress{background:#dbeafe;color:#1e3a8a}.status-paused{background:#fef3c7;color:#78350f}.status-ended,.status-notStarted{background:#e2e8f0;color:#1e293b}
main{max-width:1440px;margin:0 auto;padding:24px 32px 48px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin:0 0 20px}
section h2{font-size:17px;margin:0 0 12px}
.grid{display:grid;gap:20px;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));margin-bottom:20px}
.grid>section{margin:0}
.kpis{display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));margin-bottom:20px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
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
.sw-0{background:#b45309}.sw-1{background:#1d4ed8}.sw-2{background:#7c3aed}.sw-3{background:#15803d}.sw-4{background:#64748b}
.readiness{display:grid;gap:10px;margin:0;padding:0;list-style:none}
.readiness li{border-left:4px solid var(--line);padding:2px 12px;display:grid;grid-template-columns:90px 1fr;align-items:baseline}
.readiness .n{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums;grid-row:span 2}
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
.st-0{background:#fef3c7;color:#78350f}.st-1{background:#dbeafe;color:#1e3a8a}.st-2{background:#ede9fe;color:#4c1d95}.st-3{background:#dcfce7;color:#14532d}.st-4{background:#e2e8f0;color:#1e293b}
.exceeded{color:var(--err);font-weight:600}
.pager{display:flex;gap:8px;align-items:center;margin-top:12px;flex-wrap:wrap}
.pager button{font:inherit;font-size:14px;padding:5px 12px;border:1px solid #94a3b8;border-radius:6px;background:#fff;color:var(--fg);cursor:pointer}
.pager button:disabled{color:#94a3b8;cursor:default}
.pager .info{margin-left:auto;color:var(--muted);font-size:14px}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
footer{color:var(--muted);font-size:13px;text-align:center;padding:0 0 32px}
@media print{.controls,.pager{display:none}}
`;

const SCRIPT = `(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('dashboard-data').textContent);
  var rows = data.users, n = rows.length, i;
  var lowerUpn = new Array(n), hay = new Array(n);
  for (i = 0; i < n; i++) { lowerUpn[i] = rows[i][0].toLowerCase(); hay[i] = lowerUpn[i] + '\\n' + rows[i][1].toLowerCase(); }
  var COL = { user: 0, stage: 2, since: 3, deadline: 4, exceeded: 5, postponed: 6, devices: 7, alerts: 8, notice: 10 };
  var st = { q: '', stage: '', exceeded: false, alerts: false, sort: 'user', dir: 1, page: 0, size: 50 };
  var view = [];
  var $ = function (id) { return document.getElementById(id); };
  var tbody = $('user-rows'), status = $('table-status');

  function cmp(a, b) {
    var k = COL[st.sort], x, y;
    if (st.sort === 'user') { x = lowerUpn[a]; y = lowerUpn[b]; }
    else { x = rows[a][k]; y = rows[b][k]; }
    if (x !== y) {
      if (st.sort !== 'stage' && st.sort !== 'user') { if (x === '') return 1; if (y === '') return -1; }
      return (x < y ? -1 : 1) * st.dir;
    }
    return lowerUpn[a] < lowerUpn[b] ? -1 : lowerUpn[a] > lowerUpn[b] ? 1 : 0;
  }

  function refilter() {
    var q = st.q, stage = st.stage === '' ? -1 : Number(st.stage), out = [];
    for (var j = 0; j < n; j++) {
      var r = rows[j];
      if (stage >= 0 && r[2] !== stage) continue;
      if (st.exceeded && r[5] === '') continue;
      if (st.alerts && r[8] === '') continue;
      if (q && hay[j].indexOf(q) < 0) continue;
      out.push(j);
    }
    out.sort(cmp);
    view = out;
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

  function render() {
    var pages = Math.max(1, Math.ceil(view.length / st.size));
    if (st.page >= pages) st.page = pages - 1;
    var from = st.page * st.size, to = Math.min(view.length, from + st.size);
    var frag = document.createDocumentFragment();
    for (var j = from; j < to; j++) {
      var r = rows[view[j]], tr = document.createElement('tr');
      var td = cell(tr, '');
      var upn = document.createElement('span'); upn.className = 'upn'; upn.textContent = r[0]; td.appendChild(upn);
      if (r[1]) { var dn = document.createElement('span'); dn.className = 'dn'; dn.textContent = r[1]; td.appendChild(dn); }
      var sc = cell(tr, ''), badge = document.createElement('span');
      badge.className = 'stage st-' + r[2]; badge.textContent = data.stages[r[2]]; sc.appendChild(badge);
      cell(tr, r[3] || '—');
      cell(tr, r[4] || '—');
      cell(tr, r[5] || '—', r[5] ? 'exceeded' : '');
      cell(tr, r[6] || '—');
      cell(tr, r[7] || '—');
      cell(tr, r[8] || '—');
      cell(tr, r[10] || '—');
      frag.appendChild(tr);
    }
    tbody.textContent = '';
    tbody.appendChild(frag);
    status.textContent = view.length === 0 ? 'No users match.' :
      'Showing ' + (from + 1).toLocaleString('en-US') + '–' + to.toLocaleString('en-US') + ' of ' + view.length.toLocaleString('en-US') + ' users' +
      (view.length !== n ? ' (filtered from ' + n.toLocaleString('en-US') + ')' : '');
    $('page-info').textContent = 'Page ' + (st.page + 1) + ' of ' + pages;
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
      view.sort(cmp);
      st.page = 0;
      render();
    });
  }
  var timer = null;
  $('user-search').addEventListener('input', function (ev) {
    var v = ev.target.value.trim().toLowerCase();
    clearTimeout(timer);
    timer = setTimeout(function () { st.q = v; refilter(); }, n > 20000 ? 200 : 60);
  });
  $('stage-filter').addEventListener('change', function (ev) { st.stage = ev.target.value; refilter(); });
  $('exceeded-filter').addEventListener('change', function (ev) { st.exceeded = ev.target.checked; refilter(); });
  $('alerts-filter').addEventListener('change', function (ev) { st.alerts = ev.target.checked; refilter(); });
  $('page-size').addEventListener('change', function (ev) { st.size = Number(ev.target.value); st.page = 0; render(); });
  $('first-page').addEventListener('click', function () { st.page = 0; render(); });
  $('prev-page').addEventListener('click', function () { st.page = Math.max(0, st.page - 1); render(); });
  $('next-page').addEventListener('click', function () { st.page++; render(); });
  $('last-page').addEventListener('click', function () { st.page = Math.ceil(view.length / st.size) - 1; render(); });
  markSort();
  refilter();
  document.documentElement.setAttribute('data-ready', 'true');
})();`;

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64');
// Hashes rather than 'unsafe-inline': only this exact script and stylesheet may run in the page.
const CSP = `default-src 'none'; script-src 'sha256-${sha256(SCRIPT)}'; style-src 'sha256-${sha256(CSS)}'; img-src data:; base-uri 'none'; form-action 'none'`;

function kpi(label: string, value: string, sub: string, count?: string, bad = false): string {
  return `<div class="kpi${bad ? ' bad' : ''}"><div class="label">${label}</div><div class="value"${count ? ` data-count="${count}"` : ''}>${value}</div><div class="sub">${sub}</div></div>`;
}

export interface DashboardOptions {
  /**
   * A proposal (`campaign plan --html`): the campaign as its first run would leave it, before anything is
   * deployed or anyone told. The page says so at the top and in its title.
   */
  proposal?: boolean;
}

export function renderDashboard(r: StatusReport, campaign: Campaign, opts: DashboardOptions = {}): string {
  const c = r.counts;
  const start = r.daily.length ? r.daily[0].date : null;
  const duration = start && r.estimatedEnd ? dayOf(`${r.estimatedEnd}T00:00:00Z`) - dayOf(`${start}T00:00:00Z`) : null;
  const left = r.asOf && r.estimatedEnd ? Math.max(0, dayOf(`${r.estimatedEnd}T00:00:00Z`) - dayOf(r.asOf)) : null;
  const errors = r.alerts.filter((a) => a.severity === 'error').length;
  const policy = campaign.spec.enforcement.policyState === 'reportOnly' ? 'report-only' : 'enforcing';
  const stageRows = STAGES.map((s, i) => `<li><span class="sw sw-${i}"></span>${STAGE_TITLE[s]} <strong data-count="${s}">${fmt(c[s])}</strong></li>`).join('');
  const lastRun = r.lastRun
    ? `Last run <code>${escapeHtml(r.lastRun.runId)}</code> at ${escapeHtml(r.lastRun.startedAt)} (${r.lastRun.ok === true ? 'ok' : r.lastRun.ok === false ? 'failed' : 'unfinished'}) · ${r.runs} run${r.runs === 1 ? '' : 's'}`
    : 'No reconcile run yet';
  const stageOptions = [...STAGES.map((s, i) => `<option value="${i}">${STAGE_TITLE[s]}</option>`), `<option value="4">${NOT_ENTERED}</option>`].join('');
  const th = (col: string, label: string) => `<th scope="col" data-col="${col}"><button type="button">${label}<span class="arrow" aria-hidden="true"></span></button></th>`;

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
<p>${lastRun}${r.asOf ? ` · data observed ${escapeHtml(r.asOf)}` : ''}</p>
${opts.proposal ? '<p class="proposal" role="note"><strong>Proposal</strong>: what the campaign\'s first run would do, computed from the tenant as it is now. Nothing has been deployed and nobody has been told.</p>' : ''}
</header>
<main>
<section aria-labelledby="goal-h">
<h2 id="goal-h">Campaign goal</h2>
<p class="goal">${escapeHtml(r.description || 'Passkeys for every targeted user')}: move every targeted user to phishing-resistant passkey sign-in, enforced by a Conditional Access policy (currently ${policy}) for the campaign's enforcement group.</p>
</section>
<div class="kpis">
${kpi('Targeted users', fmt(c.targeted), `${fmt(c.excluded)} excluded`, 'targeted')}
${kpi('Enforced', fmt(c.enforced), `${pct(c.enforced, c.targeted)} of targeted`)}
${kpi('Exceeded grace period', fmt(c.exceededGrace), 'no more reminders', 'exceededGrace', c.exceededGrace > 0)}
${kpi('Estimated end', r.estimatedEnd ?? 'unknown', duration !== null ? `≈ ${duration} days in total${left !== null ? `, ${left} to go` : ''}` : 'needs an observation', 'estimatedEnd')}
${kpi('Alerts', fmt(r.alerts.length), `${errors} error${errors === 1 ? '' : 's'}`, 'alerts', errors > 0)}
</div>
<div class="grid">
<section aria-labelledby="readiness-h">
<h2 id="readiness-h">Readiness of targeted users</h2>
${readinessSvg(r)}
<ul class="readiness">
<li class="r-0"><span class="n" data-count="needsDeviceUpdate">${fmt(r.readiness.needsDeviceUpdate)}</span><span class="what">${READINESS_TITLE.needsDeviceUpdate}</span><span class="muted">at least one active device below the minimum OS</span></li>
<li class="r-1"><span class="n" data-count="needsPasskey">${fmt(r.readiness.needsPasskey)}</span><span class="what">${READINESS_TITLE.needsPasskey}</span><span class="muted">compatible devices, no passkey registered</span></li>
<li class="r-2"><span class="n" data-count="ready">${fmt(r.readiness.ready)}</span><span class="what">${READINESS_TITLE.ready}</span><span class="muted">compatible devices and a registered passkey</span></li>
</ul>
${r.readiness.unassessed ? `<p class="muted">${fmt(r.readiness.unassessed)} could not be assessed (Graph reads failed).</p>` : ''}
</section>
<section aria-labelledby="funnel-h">
<h2 id="funnel-h">Stage funnel</h2>
${funnelSvg(r)}
<ul class="legend" aria-label="Users per stage">${stageRows}</ul>
</section>
</div>
<section aria-labelledby="timeline-h">
<h2 id="timeline-h">Progress over the campaign's life</h2>
${timelineSvg(r.daily)}
<ul class="legend" aria-hidden="true">${STAGES.map((s, i) => `<li><span class="sw sw-${i}"></span>${STAGE_TITLE[s]}</li>`).join('')}</ul>
${timelineTable(r.daily)}
</section>
<div class="grid">
<section aria-labelledby="outlook-h">
<h2 id="outlook-h">Outlook and estimated end</h2>
<ul class="outlook">${r.outlook.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>
${r.warnings.map((w) => `<p class="muted">Note: ${escapeHtml(w)}</p>`).join('')}
</section>
<section aria-labelledby="alerts-h">
<h2 id="alerts-h">Alerts</h2>
${alertsHtml(r)}
</section>
</div>
<section aria-labelledby="users-h">
<h2 id="users-h">Users</h2>
<div class="controls" role="search">
<label for="user-search">Search by UPN or name<input type="search" id="user-search" autocomplete="off" placeholder="e.g. megan or @contoso.com"></label>
<label for="stage-filter">Stage<select id="stage-filter"><option value="">All stages</option>${stageOptions}</select></label>
<label class="check" for="exceeded-filter"><input type="checkbox" id="exceeded-filter"> Exceeded grace period only</label>
<label class="check" for="alerts-filter"><input type="checkbox" id="alerts-filter"> With alerts only</label>
<label for="page-size">Rows per page<select id="page-size"><option>25</option><option selected>50</option><option>100</option><option>250</option></select></label>
</div>
<p id="table-status" role="status" aria-live="polite" class="muted"></p>
<div class="scroll">
<table class="data" id="user-table">
<caption class="sr-only">Targeted users; select a column heading to sort</caption>
<thead><tr>${th('user', 'User')}${th('stage', 'Stage')}${th('since', 'Since')}${th('deadline', 'Deadline')}${th('exceeded', 'Exceeded grace period')}${th('postponed', 'Postponed until')}${th('devices', 'Devices below minimum OS')}${th('alerts', 'Alerts')}${th('notice', 'Last notice')}</tr></thead>
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
<footer>Generated by <code>campaign status --html</code> from the campaign ledger and the last observation. Self-contained: no network access.</footer>
<script type="application/json" id="dashboard-data">${jsonForScript(tableData(r))}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
