// JSON Schema validation (ajv, draft 2020-12) with defaults filled, and ajv's errors turned into
// messages that name the field, the problem and the fix.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { CampaignSource, formatPath, pointerToPath, type PathSegment } from './source';
import { closest, listOf } from './suggest';
import type { Diagnostic } from './types';

export const SCHEMA_PATH = path.resolve(__dirname, '..', '..', 'campaigns', 'schema', 'campaign.schema.json');

let compiled: ValidateFunction | undefined;

export function campaignSchema(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
}

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: true, verbose: true });
    compiled = ajv.compile(campaignSchema());
  }
  return compiled;
}

/** Field-specific explanations for pattern failures, keyed by the schema location that failed. */
const PATTERN_HINTS: Array<[RegExp, string]> = [
  [/metadata\/properties\/name\/pattern$/, 'use 3–40 characters of a–z, 0–9 and "-", starting and ending with a letter or digit (e.g. admins-passkeys)'],
  [/\$defs\/principal\/pattern$/, 'use a user principal name (name@contoso.com) or an object id (GUID)'],
  [/\$defs\/objectId\/pattern$/, 'use the group\'s object id (a GUID, shown in the Entra admin center under Groups › Overview)'],
  [/\$defs\/version\/pattern$/, 'use a dotted numeric version such as 10.0.18362 or 17.0'],
  // $defs that ajv compiles apart report their path from their own root: #/properties/by/pattern.
  [/properties\/by\/pattern$/, 'use the mail address or UPN of the person who decided to retire the entry (name@contoso.com)'],
  [/registrationUrl\/pattern$/, 'use an https:// address, e.g. https://aka.ms/mysecurityinfo'],
];

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function typeName(t: unknown): string {
  const names: Record<string, string> = { object: 'a mapping', array: 'a list', integer: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false' };
  return Array.isArray(t) ? t.map((x) => names[x] ?? x).join(' or ') : names[String(t)] ?? String(t);
}

function schemaProperties(schema: unknown): string[] {
  const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? Object.keys(props) : [];
}

function messageFor(err: ErrorObject, data: unknown): { path: PathSegment[]; key: boolean; message: string } {
  const base = pointerToPath(err.instancePath, data);
  switch (err.keyword) {
    case 'additionalProperties': {
      const field = String((err.params as { additionalProperty: string }).additionalProperty);
      const valid = schemaProperties(err.parentSchema);
      const guess = closest(field, valid);
      const fix = guess ? `Did you mean "${guess}"?` : `Valid fields here: ${listOf(valid)}.`;
      return { path: [...base, field], key: true, message: `unknown field "${field}". ${fix}` };
    }
    case 'required': {
      const field = String((err.params as { missingProperty: string }).missingProperty);
      const where = formatPath([...base, field]);
      const hint =
        where === 'spec.exclusions'
          ? ' Add spec.exclusions.breakGlass with your emergency-access accounts.'
          : where === 'spec.targets'
            ? ' Add spec.targets (an empty mapping `targets: {}` targets the 15 supported admin roles).'
            : ` Add "${field}:" here.`;
      return { path: [...base, field], key: false, message: `is required.${hint}` };
    }
    case 'type':
      return { path: base, key: false, message: `must be ${typeName((err.params as { type: unknown }).type)} (got ${describe(err.data)}).` };
    case 'enum': {
      const allowed = ((err.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const guess = typeof err.data === 'string' ? closest(err.data, allowed) : undefined;
      return {
        path: base,
        key: false,
        message: `must be one of ${listOf(allowed)} (got ${describe(err.data)}).${guess ? ` Did you mean "${guess}"?` : ''}`,
      };
    }
    case 'const':
      return { path: base, key: false, message: `must be ${JSON.stringify((err.params as { allowedValue: unknown }).allowedValue)} (got ${describe(err.data)}).` };
    case 'pattern': {
      const hint = PATTERN_HINTS.find(([re]) => re.test(err.schemaPath))?.[1] ?? `it must match ${String((err.params as { pattern: string }).pattern)}`;
      return { path: base, key: false, message: `${describe(err.data)} is not valid: ${hint}.` };
    }
    case 'minimum':
    case 'maximum': {
      const limit = (err.params as { limit: number }).limit;
      const op = err.keyword === 'minimum' ? '≥' : '≤';
      return { path: base, key: false, message: `must be ${op} ${limit} (got ${describe(err.data)}).` };
    }
    case 'minLength':
      return { path: base, key: false, message: 'must not be empty.' };
    default:
      return { path: base, key: false, message: `${err.message ?? 'is invalid'}.` };
  }
}

/**
 * Validates `data` in place against the campaign schema, filling defaults. Returns one diagnostic
 * per problem, positioned in the source.
 */
export function validateSchema(data: unknown, source: CampaignSource): Diagnostic[] {
  const validate = validator();
  if (validate(data)) return [];
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const err of validate.errors ?? []) {
    // ajv reports an enum/const failure both on the keyword and its parent "if"; one line is enough.
    if (err.keyword === 'if' || err.keyword === '$ref') continue;
    const m = messageFor(err, data);
    const where = formatPath(m.path);
    const key = `${where}|${m.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const pos = source.locate(m.path, { key: m.key });
    out.push({ severity: 'error', file: source.file, line: pos.line, col: pos.col, path: where, message: m.message, rule: `schema/${err.keyword}` });
  }
  return out;
}
