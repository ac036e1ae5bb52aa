// Loads the pack the way `pulumi preview|up --policy-pack policies` does: @pulumi/pulumi's run-policy-pack
// runner in a child process with policies/ as working directory, then judges over the analyzer gRPC API
// the resources the program produces under mocks (and broken copies of them).
import * as grpc from '@grpc/grpc-js';
import { AnalyzerClient } from '@pulumi/pulumi/proto/analyzer_grpc_pb';
import {
  AnalyzeDiagnostic, AnalyzeRequest, AnalyzeStackRequest, AnalyzerInfo, AnalyzerPropertyDependencies, AnalyzerResource, AnalyzerResourceOptions,
  ConfigureAnalyzerRequest, EnforcementLevel, PolicyConfig,
} from '@pulumi/pulumi/proto/analyzer_pb';
import { Empty } from 'google-protobuf/google/protobuf/empty_pb';
import { Struct } from 'google-protobuf/google/protobuf/struct_pb';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
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

const urnOf = (r: Pick<Recorded, 'type' | 'name'>) => `urn:pulumi:test::passkey-campaigns::${r.type}::${r.name}`;

/** AnalyzeStack as the engine calls it: every resource with its inputs, dependencies and per-property dependencies. */
function analyzeStack(resources: Recorded[]): Promise<AnalyzeDiagnostic[]> {
  const byName = new Map(resources.map((r) => [r.name, r]));
  const urns = (names: string[]) => names.filter((n) => byName.has(n)).map((n) => urnOf(byName.get(n)!));
  const req = new AnalyzeStackRequest().setResourcesList(resources.map((r) => {
    const res = new AnalyzerResource().setType(r.type).setName(r.name).setUrn(urnOf(r))
      .setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(r.inputs))))
      .setOptions(new AnalyzerResourceOptions().setProtect(false))
      .setDependenciesList(urns(r.dependsOn));
    for (const [prop, names] of Object.entries(r.propertyDependsOn)) res.getPropertydependenciesMap().set(prop, new AnalyzerPropertyDependencies().setUrnsList(urns(names)));
    return res;
  }));
  return new Promise((resolve, reject) => client!.analyzeStack(req, new grpc.Metadata(), deadline(), (e, res) => (e ? reject(e) : resolve(res!.getDiagnosticsList()))));
}

/** Sets the policy config as `pulumi` does from --policy-pack-config; `{}` returns every policy to its defaults. */
function configure(config: Record<string, Record<string, unknown>>): Promise<void> {
  const req = new ConfigureAnalyzerRequest();
  for (const [policy, props] of Object.entries(config)) {
    req.getPolicyconfigMap().set(policy, new PolicyConfig().setEnforcementlevel(EnforcementLevel.MANDATORY).setProperties(Struct.fromJavaScript(props as never)));
  }
  return new Promise((resolve, reject) => client!.configure(req, new grpc.Metadata(), deadline(), (e) => (e ? reject(e) : resolve())));
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
    const expected = guardrailPolicies(() => new Map()).map((p) => p.name).sort();
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

describe('the policy pack on a graduated campaign', () => {
  let graduated: ProgramRun;
  let dir: string;
  beforeAll(async () => {
    dir = campaignsCopy((name, text) => {
      const t = inProgress(text);
      if (name !== 'admins-passkeys') return t;
      const doc = parseDocument(t);
      doc.setIn(['spec', 'enforcement', 'mode'], 'graduated');
      return doc.toString();
    });
    graduated = await runProgram({ campaignsDir: dir });
    // The campaign files the pack reads: the temporary copy (an absolute campaignsDir stays as it is).
    await configure({ 'ca-policy-enabled-only-when-campaign-says-so': { campaignsDir: dir }, 'scheduler-graph-roles-allowed': { campaignsDir: dir } });
  }, 60_000);
  afterAll(async () => {
    await configure({});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('accepts every resource the program produces, the enabled graduated policy and the sign-in roles included, and the stack as a whole', async () => {
    const policy = graduated.one(CA, 'admins-passkeys-graduated-policy');
    expect(policy.inputs.state).toBe('enabled');
    expect(policy.propertyDependsOn.conditions).toEqual(['admins-passkeys-graduated-group']);
    for (const r of graduated.resources) {
      expect({ resource: `${r.type}::${r.name}`, violations: summary(await analyze(r)) }).toEqual({ resource: `${r.type}::${r.name}`, violations: [] });
    }
    expect(summary(await analyzeStack(graduated.resources))).toEqual([]);
  });

  it('rejects the enabled graduated policy once the campaign file is no longer in graduated mode', async () => {
    await configure({});
    try {
      expect(summary(await analyze(graduated.one(CA, 'admins-passkeys-graduated-policy')))).toEqual([{
        policy: 'ca-policy-enabled-only-when-campaign-says-so',
        message: expect.stringContaining('has state "enabled" but campaign "admins-passkeys" (campaigns/admins-passkeys.yaml) has mode reportOnly.') as unknown as string,
      }]);
    } finally {
      await configure({ 'ca-policy-enabled-only-when-campaign-says-so': { campaignsDir: dir }, 'scheduler-graph-roles-allowed': { campaignsDir: dir } });
    }
  });

  it('rejects a graduated policy that also includes a user, and one that leaves out a break-glass account', async () => {
    const policy = graduated.one(CA, 'admins-passkeys-graduated-policy');
    const users = policy.inputs.conditions.users;
    const withUser = { ...policy, inputs: { ...policy.inputs, conditions: { ...policy.inputs.conditions, users: { ...users, includedUsers: ['someone'] } } } };
    expect(summary(await analyze(withUser))).toEqual([{ policy: 'ca-policy-enabled-only-when-campaign-says-so', message: expect.stringContaining('but it also includes includedUsers someone.') as unknown as string }]);
    const noBreakGlass = { ...policy, inputs: { ...policy.inputs, conditions: { ...policy.inputs.conditions, users: { ...users, excludedUsers: users.excludedUsers.slice(1) } } } };
    expect(summary(await analyze(noBreakGlass))).toEqual([{ policy: 'ca-policy-enabled-only-when-campaign-says-so', message: expect.stringContaining('but it excludes 1 user but the campaign lists 2 break-glass accounts.') as unknown as string }]);
  });

  it('rejects, as a stack, the enabled graduated policy pointed at the enforcement group', async () => {
    const resources = graduated.resources.map((r) => (r.name === 'admins-passkeys-graduated-policy'
      ? { ...r, dependsOn: ['admins-passkeys-group'], propertyDependsOn: { ...r.propertyDependsOn, conditions: ['admins-passkeys-group'] } }
      : r));
    expect(summary(await analyzeStack(resources))).toEqual([{
      policy: 'graduated-policy-includes-only-its-group',
      message: expect.stringContaining('Conditional Access policy "passkey-campaign-admins-passkeys-graduated-policy" (admins-passkeys-graduated-policy) includes "passkey-campaign-admins-passkeys-enforced". An enabled graduated policy must include only its campaign\'s graduated group "passkey-campaign-admins-passkeys-graduated".') as unknown as string,
    }]);
  });
});

describe('the policy pack on a campaign that delivers onboarding passes to managers', () => {
  let onboarding: ProgramRun;
  let dir: string;
  const TAP_WRITE = 'scheduler-graph-UserAuthenticationMethod.ReadWrite.All';
  beforeAll(async () => {
    dir = campaignsCopy((name, text) => {
      const t = inProgress(text);
      if (name !== 'admins-passkeys') return t;
      const doc = parseDocument(t);
      doc.setIn(['spec', 'onboarding', 'temporaryAccessPass'], { enabled: true, deliverTo: 'manager' });
      return doc.toString();
    });
    onboarding = await runProgram({ campaignsDir: dir });
    await configure({ 'ca-policy-enabled-only-when-campaign-says-so': { campaignsDir: dir }, 'scheduler-graph-roles-allowed': { campaignsDir: dir } });
  }, 60_000);
  afterAll(async () => {
    await configure({});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('accepts every resource the program produces, the Temporary Access Pass role included', async () => {
    expect(onboarding.ofType('azuread:index/appRoleAssignment:AppRoleAssignment').map((a) => a.name)).toContain(TAP_WRITE);
    for (const r of onboarding.resources) {
      expect({ resource: `${r.type}::${r.name}`, violations: summary(await analyze(r)) }).toEqual({ resource: `${r.type}::${r.name}`, violations: [] });
    }
  });

  it('rejects the Temporary Access Pass role, saying why it is sensitive, once no campaign file delivers passes to managers', async () => {
    await configure({});
    try {
      expect(summary(await analyze(onboarding.one('azuread:index/appRoleAssignment:AppRoleAssignment', TAP_WRITE)))).toEqual([{
        policy: 'scheduler-graph-roles-allowed',
        message: expect.stringContaining('but no campaign in campaigns/ has spec.onboarding.temporaryAccessPass enabled with deliverTo: manager. It lets the identity create a Temporary Access Pass, a sign-in credential, for any user in the tenant, admins included') as unknown as string,
      }]);
    } finally {
      await configure({ 'ca-policy-enabled-only-when-campaign-says-so': { campaignsDir: dir }, 'scheduler-graph-roles-allowed': { campaignsDir: dir } });
    }
  });
});
