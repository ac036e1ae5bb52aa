// Golden resource graph: what a first `pulumi preview` of the example campaigns would create, as reviewable
// JSON in test/stack/golden/resource-graph.json, so infrastructure changes show in the PR diff of that file.
// The program runs offline under the harness's mocks (fixed subscription id) with both example campaigns set
// to inProgress, as program.test.ts does: notStarted campaigns that never ran create nothing.
// Per resource: type, name, parent, dependsOn, inputs (keys sorted); secrets are "[secret]", and values Azure
// computes on create (ids, object ids, principal ids, hosts…) are "[unknown: <resource>.<output>]", as a
// preview shows them. After an intended change, regenerate the file and commit it with the change:
//   UPDATE_GOLDEN=1 npx vitest run test/stack/resource-graph.test.ts
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockMonitor } from '@pulumi/pulumi/runtime/mocks';
import { campaignsCopy, inProgress, isSecret, runProgram, type ProgramRun } from './harness';

const GOLDEN = path.join(__dirname, 'golden', 'resource-graph.json');
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// Outputs the harness's mocks invent (harness.ts stateFor) that only exist once Azure has created the resource.
const COMPUTED = ['objectId', 'clientId', 'principalId', 'connectionString', 'defaultHostName', 'primaryEndpoints'];
// The same inside `properties` (Key Vault): the vault's URI and a secret's URIs, versioned or not.
const COMPUTED_PROPERTIES = ['vaultUri', 'secretUri', 'secretUriWithVersion'];

/** Computed value → placeholder, longest value first so an id is replaced before a prefix of it. */
function placeholders(run: ProgramRun): [string, string][] {
  const found = new Map<string, string>();
  const walk = (v: unknown, label: string) => {
    if (typeof v === 'string') { if (!found.has(v)) found.set(v, label); }
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${label}.${k}`);
  };
  for (const r of run.resources) {
    for (const k of COMPUTED) if (k in r.state && !(k in r.inputs)) walk(r.state[k], `[unknown: ${r.name}.${k}`);
    const stateProps = (r.state.properties ?? {}) as Record<string, unknown>;
    for (const k of COMPUTED_PROPERTIES) if (typeof stateProps[k] === 'string') walk(stateProps[k], `[unknown: ${r.name}.properties.${k}`);
  }
  // A group's id is its object id; the program reads objectId, so that label wins.
  for (const r of run.resources) walk(r.id, `[unknown: ${r.name}.id`);
  return [...found].map(([v, l]): [string, string] => [v, l.endsWith(']') ? l : `${l}]`]).sort((a, b) => b[0].length - a[0].length);
}

/** Inputs as JSON with sorted keys, secrets masked, computed values and the temporary campaigns path replaced. */
function normalize(v: unknown, unknown: [string, string][], dir: string): Json {
  if (isSecret(v)) return '[secret]';
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map((x) => normalize(x, unknown, dir));
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => [k, normalize(o[k], unknown, dir)]));
  }
  if (typeof v === 'string') {
    let s = v.split(dir).join('<campaignsDir>');
    for (const [value, label] of unknown) if (s.includes(value)) s = s.split(value).join(label);
    return s;
  }
  return v as Json;
}

async function resourceGraph(): Promise<Json> {
  // The harness records dependencies but not parents: read each request's parent URN on its way in.
  const parents = new Map<string, string>();
  const register = MockMonitor.prototype.registerResource;
  MockMonitor.prototype.registerResource = function (this: MockMonitor, req: any, callback: any) {
    parents.set(`${req.getType()}::${req.getName()}`, req.getParent());
    return register.call(this, req, callback);
  };
  const dir = campaignsCopy((_name, text) => inProgress(text));
  dirs.push(dir);
  let run: ProgramRun;
  try { run = await runProgram({ campaignsDir: dir }); } finally { MockMonitor.prototype.registerResource = register; }
  const unknown = placeholders(run);
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const resources = run.resources
    .map((r) => {
      const parentUrn = parents.get(`${r.type}::${r.name}`) ?? '';
      // A URN ends in …$<type>::<name>; top-level resources have the stack as parent.
      const parent = parentUrn === '' || parentUrn.includes('::pulumi:pulumi:Stack::') ? null : parentUrn.split('::').pop()!;
      return { type: r.type, name: r.name, parent, dependsOn: [...new Set(r.dependsOn)].sort(compare), inputs: normalize(r.inputs, unknown, dir) };
    })
    .sort((a, b) => compare(a.type, b.type) || compare(a.name, b.name));
  return { resources };
}

const text = (graph: Json) => `${JSON.stringify(graph, null, 2)}\n`;

describe('resource graph golden file', () => {
  it('matches test/stack/golden/resource-graph.json (UPDATE_GOLDEN=1 rewrites it)', async () => {
    const actual = text(await resourceGraph());
    if (process.env.UPDATE_GOLDEN === '1') {
      fs.mkdirSync(path.dirname(GOLDEN), { recursive: true });
      fs.writeFileSync(GOLDEN, actual);
    }
    expect(fs.existsSync(GOLDEN), 'no golden file: run UPDATE_GOLDEN=1 npx vitest run test/stack/resource-graph.test.ts').toBe(true);
    expect(actual).toBe(fs.readFileSync(GOLDEN, 'utf8'));
  });
});
