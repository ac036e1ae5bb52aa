// Loads the pack the way `pulumi preview|up --policy-pack policies` does: @pulumi/pulumi's run-policy-pack
// runner in a child process with policies/ as working directory, then judges over the analyzer gRPC API
// the resources the program produces under mocks (and broken copies of them).
import * as grpc from '@grpc/grpc-js';
import { AnalyzerClient } from '@pulumi/pulumi/proto/analyzer_grpc_pb';
import { AnalyzeDiagnostic, AnalyzeRequest, AnalyzerInfo, AnalyzerResourceOptions } from '@pulumi/pulumi/proto/analyzer_pb';
import { Empty } from 'google-protobuf/google/protobuf/empty_pb';
import { Struct } from 'google-protobuf/google/protobuf/struct_pb';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignsCopy, inProgress, runProgram, type ProgramRun, type Recorded } from '../test/stack/harness';
import { guardrailPolicies } from './guardrails';

const PACK_DIR = __dirname;
const RUNNER = require.resolve('@pulumi/pulumi/cmd/run-policy-pack');
const CA = 'azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy';
// ts-node type-checks the pack and src/ on start; on a loaded 2-core machine that takes a while.
const START_TIMEOUT_MS = 90_000;
const RPC_DEADLINE_MS = 5_000;

let child: ChildProcess | undefined;
let client: AnalyzerClient | undefined;
let run: ProgramRun;
let campaignsDir: string;

/** Starts the runner as the CLI does (engine address, then the program "."), resolving with the port it prints. */
function startPack(): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [RUNNER, '127.0.0.1:1', '.'], { cwd: PACK_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`pack printed no port within ${START_TIMEOUT_MS} ms; stderr:\n${err}`)), START_TIMEOUT_MS);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const port = /^(\d+)\s*$/m.exec(out);
      if (port) { clearTimeout(timer); resolve(Number(port[1])); }
    });
    proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`pack exited with ${code} before printing its port; stdout:\n${out}\nstderr:\n${err}`)); });
  });
}

const deadline = () => ({ deadline: Date.now() + RPC_DEADLINE_MS });

function analyzerInfo(): Promise<AnalyzerInfo> {
  return new Promise((resolve, reject) => client!.getAnalyzerInfo(new Empty(), new grpc.Metadata(), deadline(), (e, r) => (e ? reject(e) : resolve(r!))));
}

/** Analyze as the engine calls it for a resource's new inputs (JSON round trip drops undefined, as the wire does). */
function analyze(r: Pick<Recorded, 'type' | 'name' | 'inputs'>): Promise<AnalyzeDiagnostic[]> {
  const req = new AnalyzeRequest()
    .setType(r.type)
    .setName(r.name)
    .setUrn(`urn:pulumi:test::passkey-campaigns::${r.type}::${r.name}`)
    .setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(r.inputs))))
    // The engine always sends options; @pulumi/policy rejects a request without them as from an old CLI.
    .setOptions(new AnalyzerResourceOptions().setProtect(false));
  return new Promise((resolve, reject) => client!.analyze(req, new grpc.Metadata(), deadline(), (e, res) => (e ? reject(e) : resolve(res!.getDiagnosticsList()))));
}

const summary = (ds: AnalyzeDiagnostic[]) => ds.map((d) => ({ policy: d.getPolicyname(), message: d.getMessage() }));

beforeAll(async () => {
  const [port] = await Promise.all([
    startPack(),
    (async () => {
      // In progress, so each campaign gets its enforcement group and report-only CA policy.
      campaignsDir = campaignsCopy((_name, text) => inProgress(text));
      run = await runProgram({ campaignsDir });
    })(),
  ]);
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, START_TIMEOUT_MS + 30_000);

afterAll(() => {
  client?.close();
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (campaignsDir) fs.rmSync(campaignsDir, { recursive: true, force: true });
});

describe('the policy pack under @pulumi/pulumi\'s run-policy-pack runner', () => {
  it('has the package.json the runner and @pulumi/policy read (version, main)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(PACK_DIR, 'package.json'), 'utf8')) as { version?: string; main?: string };
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(fs.existsSync(path.join(PACK_DIR, pkg.main ?? 'index.js'))).toBe(true);
  });

  it('lists every guardrail policy, mandatory', async () => {
    const info = await analyzerInfo();
    expect(info.getName()).toBe('passkey-campaigns-guardrails');
    const expected = guardrailPolicies(() => undefined).map((p) => p.name).sort();
    expect(info.getPoliciesList().map((p) => p.getName()).sort()).toEqual(expected);
  });

  it('finds no violation in any resource the program produces for the example campaigns', async () => {
    expect(run.ofType(CA).length).toBeGreaterThan(0);
    for (const r of run.resources) {
      expect({ resource: `${r.type}::${r.name}`, violations: summary(await analyze(r)) }).toEqual({ resource: `${r.type}::${r.name}`, violations: [] });
    }
  });

  it('reports a CA policy that excludes no break-glass account, with its message', async () => {
    const policy = run.ofType(CA)[0];
    const broken = { ...policy, inputs: { ...policy.inputs, conditions: { ...policy.inputs.conditions, users: { ...policy.inputs.conditions.users, excludedUsers: [] } } } };
    expect(summary(await analyze(broken))).toEqual([{
      policy: 'ca-policy-excludes-break-glass',
      message: expect.stringContaining(`Conditional Access policy "${policy.inputs.displayName}" (${policy.name}) excludes no user. It must exclude at least one break-glass account`) as unknown as string,
    }]);
  });

  it('reports an enabled CA policy whose campaign file (read from the repo\'s campaigns/) says reportOnly', async () => {
    const policy = run.ofType(CA).find((p) => p.name === 'admins-passkeys-policy')!;
    expect(summary(await analyze({ ...policy, inputs: { ...policy.inputs, state: 'enabled' } }))).toEqual([{
      policy: 'ca-policy-enabled-only-when-campaign-says-so',
      message: expect.stringContaining('campaign "admins-passkeys" (campaigns/admins-passkeys.yaml) has policyState reportOnly') as unknown as string,
    }]);
  });

  it('reports a postponement key set as a plain app setting instead of a Key Vault reference', async () => {
    const settings = run.one('azure-native:web:WebAppApplicationSettings');
    expect(summary(await analyze(settings))).toEqual([]);
    const broken = { ...settings, inputs: { ...settings.inputs, properties: { ...settings.inputs.properties, CAMPAIGN_POSTPONE_KEY: 'k'.repeat(48) } } };
    expect(summary(await analyze(broken))).toEqual([{
      policy: 'function-app-secrets-from-key-vault',
      message: expect.stringContaining(`App setting CAMPAIGN_POSTPONE_KEY of "${settings.name}" holds a plain value. A secret setting must be a Key Vault reference`) as unknown as string,
    }]);
  });

  it('accepts the Key Vault Secrets User assignment on the vault and rejects it on the resource group', async () => {
    const role = run.one('azure-native:authorization:RoleAssignment', 'scheduler-vault-role');
    expect(summary(await analyze(role))).toEqual([]);
    const scope = String(role.inputs.scope).replace(/\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+$/, '');
    expect(summary(await analyze({ ...role, inputs: { ...role.inputs, scope } }))).toEqual([{
      policy: 'scheduler-azure-roles-allowed',
      message: expect.stringContaining(`Role assignment "scheduler-vault-role" grants Key Vault Secrets User on ${scope}. It must be scoped to the scheduler's vault (…/providers/Microsoft.KeyVault/vaults/<name>).`) as unknown as string,
    }]);
  });
});
