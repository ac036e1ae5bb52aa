// Runs the Pulumi program under pulumi.runtime.setMocks and records every resource and invoke.
// setMocks must come before the program's import, or outputs never resolve (DESIGN §9).
import * as pulumi from '@pulumi/pulumi';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { vi } from 'vitest';
import { GRAPH_APP_ROLE_IDS } from '../../src/stack/graph-roles';

export const PROJECT = 'passkey-campaigns';
export const STACK = 'test';
export const POSTPONE_KEY = 'k'.repeat(48);
export const GRAPH_SP_OBJECT_ID = '11111111-2222-4333-8444-555555555555';
export const DEPLOYER_OBJECT_ID = '99999999-8888-4777-8666-555555555555';
export const SUBSCRIPTION_ID = '00000000-aaaa-4bbb-8ccc-dddddddddddd';

/** A stable fake object id, so tests can predict the id a UPN resolves to. */
export function fakeId(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
  state: Record<string, any>;
  /** The id the mocks gave it (what Azure would compute). */
  id: string;
  /** Names of the resources it depends on directly: its dependsOn plus those its inputs reference. */
  dependsOn: string[];
  /** Per input property, the names of the resources it references (what the engine sends a policy pack as propertyDependencies). */
  propertyDependsOn: Record<string, string[]>;
}

export interface ProgramRun {
  resources: Recorded[];
  calls: { token: string; inputs: Record<string, any> }[];
  outputs: Record<string, unknown>;
  ofType(type: string): Recorded[];
  one(type: string, name?: string): Recorded;
}

function stateFor(type: string, name: string, inputs: Record<string, any>): { id: string; state: Record<string, any> } {
  const id = `/subscriptions/${SUBSCRIPTION_ID}/fake/${type.split(':').pop()}/${name}`;
  switch (type) {
    case 'azuread:index/group:Group':
      return { id: fakeId(`group:${name}`), state: { ...inputs, objectId: fakeId(`group:${name}`) } };
    case 'azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy':
      return { id: fakeId(`policy:${name}`), state: inputs };
    case 'azure-native:resources:ResourceGroup':
      return { id, state: { ...inputs, name: inputs.resourceGroupName } };
    case 'azure-native:managedidentity:UserAssignedIdentity':
      return { id, state: { ...inputs, name: inputs.resourceName, clientId: fakeId(`client:${name}`), principalId: fakeId(`principal:${name}`) } };
    case 'azure-native:storage:StorageAccount':
      return { id, state: { ...inputs, name: inputs.accountName, primaryEndpoints: { blob: `https://${inputs.accountName}.blob.core.windows.net/` } } };
    case 'azure-native:storage:BlobContainer':
      return { id, state: { ...inputs, name: inputs.containerName } };
    case 'azure-native:applicationinsights:Component':
      return { id, state: { ...inputs, connectionString: `InstrumentationKey=${fakeId(name)};IngestionEndpoint=https://westeurope.in.applicationinsights.azure.com/` } };
    case 'azure-native:keyvault:Vault':
      // The ARM id's form: the policy pack checks that a vault role assignment's scope is a vault.
      return { id: `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${inputs.resourceGroupName}/providers/Microsoft.KeyVault/vaults/${inputs.vaultName}`, state: { ...inputs, name: inputs.vaultName, properties: { ...inputs.properties, vaultUri: `https://${inputs.vaultName}.vault.azure.net/` } } };
    case 'azure-native:keyvault:Secret': {
      // Key Vault names each version of a secret with 32 hex digits.
      const uri = `https://${inputs.vaultName}.vault.azure.net/secrets/${inputs.secretName}`;
      const version = createHash('sha256').update(`version:${name}`).digest('hex').slice(0, 32);
      // The secret value makes the whole `properties` input a secret on the wire.
      return { id, state: { ...inputs, name: inputs.secretName, properties: { ...reveal<Record<string, unknown>>(inputs.properties), secretUri: uri, secretUriWithVersion: `${uri}/${version}` } } };
    }
    case 'azure-native:web:WebApp':
      return { id, state: { ...inputs, defaultHostName: `${inputs.name}.azurewebsites.net` } };
    default:
      return { id, state: { ...inputs, name: inputs.name ?? name } };
  }
}

function callResult(token: string, inputs: Record<string, any>, subscriptionId: string): Record<string, any> {
  switch (token) {
    case 'azuread:index/getUser:getUser':
      return { objectId: fakeId(`user:${inputs.userPrincipalName}`), userPrincipalName: inputs.userPrincipalName };
    case 'azuread:index/getServicePrincipal:getServicePrincipal':
      return { objectId: GRAPH_SP_OBJECT_ID, clientId: inputs.clientId, appRoleIds: { ...GRAPH_APP_ROLE_IDS } };
    case 'azuread:index/getClientConfig:getClientConfig':
      return { objectId: DEPLOYER_OBJECT_ID, clientId: 'ci-client', tenantId: 'tenant' };
    case 'azure-native:authorization:getClientConfig':
      return { subscriptionId, tenantId: 'tenant', objectId: DEPLOYER_OBJECT_ID, clientId: 'ci-client' };
    default:
      throw new Error(`unexpected invoke ${token}`);
  }
}

const settle = async (run: ProgramRun) => {
  // Children register asynchronously once their inputs resolve; wait until nothing new arrives.
  let last = -1;
  while (last !== run.resources.length + run.calls.length) {
    last = run.resources.length + run.calls.length;
    await new Promise((r) => setTimeout(r, 50));
  }
};

const unwrap = (o: unknown): Promise<unknown> => new Promise((resolve) => (pulumi.output(o as pulumi.Input<string>) as pulumi.Output<unknown>).apply((v: unknown) => { resolve(v); return v; }));

/** Runs src/stack/index.ts with the given stack config (keys without the project prefix), as a deployer in `subscriptionId`. */
export async function runProgram(config: Record<string, string>, { subscriptionId = SUBSCRIPTION_ID }: { subscriptionId?: string } = {}): Promise<ProgramRun> {
  const run: ProgramRun = {
    resources: [],
    calls: [],
    outputs: {},
    ofType: (type) => run.resources.filter((r) => r.type === type),
    one: (type, name) => {
      const found = run.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
      if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ''}, found ${found.length}`);
      return found[0];
    },
  };
  pulumi.runtime.setMocks({
    newResource: (args) => {
      const { id, state } = stateFor(args.type, args.name, args.inputs);
      const key = `${args.type}::${args.name}`;
      run.resources.push({ type: args.type, name: args.name, inputs: args.inputs, state, id, dependsOn: dependencies.get(key) ?? [], propertyDependsOn: propertyDependencies.get(key) ?? {} });
      return { id, state };
    },
    call: (args) => {
      run.calls.push({ token: args.token, inputs: args.inputs });
      return callResult(args.token, args.inputs, subscriptionId);
    },
  }, PROJECT, STACK, false);
  // The mocks' newResource does not see the request's dependencies: read them from the request on its way in.
  const dependencies = new Map<string, string[]>();
  const propertyDependencies = new Map<string, Record<string, string[]>>();
  const monitor = pulumi.runtime.getMonitor();
  if (!monitor) throw new Error('setMocks installed no monitor');
  const register = monitor.registerResource.bind(monitor);
  type PropertyDeps = { getUrnsList(): string[] };
  monitor.registerResource = ((req: { getType(): string; getName(): string; getDependenciesList(): string[]; getPropertydependenciesMap(): { entries(): { next(): { done?: boolean; value?: [string, PropertyDeps] } } } }, ...rest: unknown[]) => {
    // A URN ends in …::<type>::<name>; the name is what tests look resources up by.
    const nameOf = (urn: string) => urn.split('::').pop()!;
    dependencies.set(`${req.getType()}::${req.getName()}`, req.getDependenciesList().map(nameOf));
    const props: Record<string, string[]> = {};
    // jspb.Map's entries() is its own iterator type, not an ES iterable under every target: step it by hand.
    for (let it = req.getPropertydependenciesMap().entries(), e = it.next(); !e.done; e = it.next()) props[e.value![0]] = e.value![1].getUrnsList().map(nameOf);
    propertyDependencies.set(`${req.getType()}::${req.getName()}`, props);
    return (register as (...a: unknown[]) => unknown)(req, ...rest);
  }) as typeof monitor.registerResource;
  const full: Record<string, string> = { postponeKey: POSTPONE_KEY, previouslyStarted: '[]', notificationSender: 'passkeys@contoso.com', teamsAppId: 'teams-app', ...config };
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(full).map(([k, v]) => [`${PROJECT}:${k}`, v])), [`${PROJECT}:postponeKey`]);
  vi.resetModules();
  const mod = (await import('../../src/stack/index')) as Record<string, unknown>;
  for (const [k, v] of Object.entries(mod)) run.outputs[k] = await unwrap(v);
  await settle(run);
  return run;
}

/** Copies the example campaigns into a temporary directory, editing each file's text. */
export function campaignsCopy(edit: (name: string, text: string) => string | null = (_n, t) => t): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-campaigns-'));
  for (const name of ['admins-passkeys', 'all-staff-passkeys']) {
    const text = edit(name, fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'campaigns', `${name}.yaml`), 'utf8'));
    if (text !== null) fs.writeFileSync(path.join(dir, `${name}.yaml`), text);
  }
  return dir;
}

export const inProgress = (text: string) => text.replace(/^  status: notStarted$/m, '  status: inProgress');

// Pulumi's wire format marks a secret input as { [SIG_KEY]: SECRET_SIG, value }.
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

export function isSecret(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

export function reveal<T = any>(v: unknown): T {
  return (isSecret(v) ? (v as { value: T }).value : v) as T;
}

export const APP_SETTINGS_TYPE = 'azure-native:web:WebAppApplicationSettings';

/** App settings (the WebAppApplicationSettings resource's properties) as a name → value map, secrets revealed. */
export function appSettings(run: ProgramRun): Record<string, string> {
  const properties = reveal<Record<string, unknown>>(run.one(APP_SETTINGS_TYPE).inputs.properties);
  return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, reveal<string>(v)]));
}
