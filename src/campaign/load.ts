// Loading a campaign file: parse (YAML with positions) → schema (types, unknown fields, defaults)
// → normalize (role names to template ids) → rules. Returns findings instead of throwing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseAllDocuments, visit, type Document, type YAMLError } from 'yaml';
import { SYSTEM_ERRORS, isSystemError } from '../errors';
import { ROLE_ALIASES, SUPPORTED_ROLE_NAMES, isGuid, roleTemplateId } from './roles';
import { sha256Hex } from './identity';
import { CAMPAIGN_RULES, finding, type RuleContext } from './rules';
import { validateSchema } from './schema';
import { CampaignSource, formatPath } from './source';
import { closest, listOf } from './suggest';
import type { Campaign, Diagnostic } from './types';
import { appendAll } from '../contracts/arrays';

export interface LoadResult {
  file: string;
  /** The normalized campaign, or null when there is any error. */
  campaign: Campaign | null;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  source: CampaignSource;
  /** Hex SHA-256 of the file's bytes as read (loadCampaignFile only; runStarted records it). */
  sha256?: string;
  /** The bytes that were read and parsed (loadCampaignFile only), for campaignIdentity. */
  bytes?: Buffer;
}

export interface LoadOptions {
  /** Skip the file-name rule (used for base revisions read from git under their old path). */
  skipFileNameRule?: boolean;
}

function yamlFinding(source: CampaignSource, err: YAMLError, severity: 'error' | 'warning'): Diagnostic {
  const pos = source.pos(err.pos[0]);
  let message: string;
  if (err.code === 'DUPLICATE_KEY') {
    const keyText = /^\s*([^:#\n]+?)\s*:/.exec(source.text.slice(err.pos[0]))?.[1] ?? '';
    message = `duplicate key${keyText ? ` "${keyText}"` : ''}: YAML would silently keep only one of the values. Remove the duplicate.`;
  } else {
    const first = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    message = `invalid YAML: ${first}.`.replace(/\.\.$/, '.');
  }
  return { severity, file: source.file, line: pos.line, col: pos.col, path: '', message, rule: `yaml/${err.code}` };
}

function split(file: string, source: CampaignSource, all: Diagnostic[]): LoadResult {
  const errors = all.filter((d) => d.severity === 'error');
  const warnings = all.filter((d) => d.severity === 'warning');
  return { file, campaign: null, errors, warnings, source };
}

/** Parses and validates campaign YAML text. `file` is used for messages and the file-name rule. */
export function parseCampaign(text: string, file: string, opts: LoadOptions = {}): LoadResult {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  const doc = list[0];
  const source = new CampaignSource(file, text, doc, lines);
  const found: Diagnostic[] = [];

  if (!Array.isArray(docs)) {
    // An empty stream; yaml returns an EmptyStream for files with only comments.
    found.push({ severity: 'error', file, line: 1, col: 1, path: '', message: 'file is empty: a campaign needs apiVersion, kind, metadata and spec. Start from campaigns/admins-passkeys.yaml.', rule: 'yaml/empty' });
    return split(file, source, found);
  }
  for (const d of list) {
    for (const e of d.errors) found.push(yamlFinding(source, e, 'error'));
    for (const w of d.warnings) found.push(yamlFinding(source, w, 'warning'));
  }
  if (list.length > 1) {
    const second = list[1].range ? source.pos(list[1].range[0]) : { line: 1, col: 1 };
    found.push({ severity: 'error', file, line: second.line, col: second.col, path: '', message: 'holds more than one YAML document: keep one campaign per file, named after metadata.name.', rule: 'yaml/multipleDocuments' });
  }
  if (found.some((d) => d.severity === 'error')) return split(file, source, found);
  if (!doc || doc.contents === null) {
    found.push({ severity: 'error', file, line: 1, col: 1, path: '', message: 'file is empty: a campaign needs apiVersion, kind, metadata and spec. Start from campaigns/admins-passkeys.yaml.', rule: 'yaml/empty' });
    return split(file, source, found);
  }

  const raw = toData(doc, source, found);
  if (raw === ALIAS_FAILED) return split(file, source, found);
  const data = structuredClone(raw) as unknown;
  appendAll(found, validateSchema(data, source));
  if (found.some((d) => d.severity === 'error')) return split(file, source, found);

  const ctx: RuleContext = { source, raw };
  const campaign = normalize(data as Campaign, ctx, found);
  if (!found.some((d) => d.severity === 'error')) {
    for (const rule of CAMPAIGN_RULES) {
      if (opts.skipFileNameRule && rule.name === 'fileNameMatchesName') continue;
      appendAll(found, rule(campaign, ctx));
    }
  }
  const result = split(file, source, found);
  result.campaign = result.errors.length ? null : campaign;
  return result;
}

const ALIAS_FAILED = Symbol('alias failed');

/**
 * The document as plain data. yaml throws a ReferenceError from toJS for an alias it cannot expand: one whose
 * anchor is missing, or aliases that expand past maxAliasCount (a "billion laughs" file); that is a finding
 * about this file, positioned at its first alias, so the other files are still checked.
 */
function toData(doc: Document.Parsed, source: CampaignSource, found: Diagnostic[]): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
    let offset = 0;
    visit(doc, { Alias: (_key, node) => {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    } });
    const pos = source.pos(offset);
    found.push({ severity: 'error', file: source.file, line: pos.line, col: pos.col, path: '', rule: 'yaml/alias',
      message: `invalid YAML: ${e.message.replace(/\.$/, '')}. A campaign needs no anchors or aliases (&name, *name): write the values out.` });
    return ALIAS_FAILED;
  }
}

/** Maps role names to template ids and lower-cases GUIDs; reports unknown roles. */
function normalize(c: Campaign, ctx: RuleContext, found: Diagnostic[]): Campaign {
  const ids: string[] = [];
  c.spec.targets.roles.forEach((name, i) => {
    const id = roleTemplateId(name);
    if (!id) {
      const guess = closest(name, [...SUPPORTED_ROLE_NAMES, ...Object.keys(ROLE_ALIASES)]);
      found.push(finding(ctx, 'error', 'knownRoleNames', ['spec', 'targets', 'roles', i],
        `"${name}" is not a supported admin role.${guess ? ` Did you mean "${guess}"?` : ''} Valid roles: ${listOf(SUPPORTED_ROLE_NAMES)}, or a role template GUID.`));
      return;
    }
    if (ids.includes(id)) {
      found.push(finding(ctx, 'warning', 'noDuplicateEntries', ['spec', 'targets', 'roles', i], `${name} is listed twice (same role template ${id}). Remove the duplicate.`));
      return;
    }
    ids.push(id);
  });
  c.spec.targets.roles = ids;
  const lowerGuids = (xs: string[]) => xs.map((x) => (isGuid(x) ? x.toLowerCase() : x));
  c.spec.targets.groups = lowerGuids(c.spec.targets.groups);
  c.spec.targets.users = lowerGuids(c.spec.targets.users);
  c.spec.exclusions.breakGlass = lowerGuids(c.spec.exclusions.breakGlass);
  c.spec.exclusions.users = lowerGuids(c.spec.exclusions.users);
  c.spec.exclusions.groups = lowerGuids(c.spec.exclusions.groups);
  c.spec.exclusions.retired = c.spec.exclusions.retired.map((r) => ({ ...r, entry: isGuid(r.entry) ? r.entry.toLowerCase() : r.entry }));
  return c;
}

export function loadCampaignFile(file: string, opts: LoadOptions = {}): LoadResult {
  let bytes: Buffer;
  try {
    // Read once as bytes: they are hashed for the run's record and decoded for parsing (the same UTF-8 decoding as before).
    bytes = fs.readFileSync(file);
  } catch (e) {
    // A file that cannot be read is a finding about that file, so `campaign validate` still checks the others.
    if (!isSystemError(e)) throw e;
    const { problem, fix } = SYSTEM_ERRORS[e.code];
    const d: Diagnostic = { severity: 'error', file, line: 1, col: 1, path: '', rule: `file/${e.code}`, message: `cannot read the file: ${problem} (${e.code}). ${fix}` };
    return split(file, new CampaignSource(file, '', undefined, new LineCounter()), [d]);
  }
  const result = parseCampaign(bytes.toString('utf8'), file, opts);
  result.sha256 = sha256Hex(bytes);
  result.bytes = bytes;
  return result;
}

export const CAMPAIGN_FILE = /\.ya?ml$/i;

/** Campaign files directly inside `dir` (not its subfolders, which hold the schema), sorted. */
export function listCampaignFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && CAMPAIGN_FILE.test(e.name))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/** Cross-file rule: two files may not declare the same campaign name. */
export function namesUniqueAcrossFiles(results: LoadResult[]): Diagnostic[] {
  const byName = new Map<string, LoadResult>();
  const out: Diagnostic[] = [];
  for (const r of results) {
    if (!r.campaign) continue;
    const name = r.campaign.metadata.name;
    const first = byName.get(name);
    if (!first) {
      byName.set(name, r);
      continue;
    }
    const pos = r.source.locate(['metadata', 'name']);
    out.push({ severity: 'error', file: r.file, line: pos.line, col: pos.col, path: formatPath(['metadata', 'name']),
      message: `"${name}" is already the name of ${first.file}. Campaign names must be unique: they name the enforcement group and the ledger.`, rule: 'rule/namesUniqueAcrossFiles' });
  }
  return out;
}
