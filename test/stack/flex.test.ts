// The Functions app as Flex Consumption takes it: the WebApp inputs the program produces under mocks (after
// @pulumi/azure-native has added its defaults) carry none of the properties FC1 rejects with ARM 51021.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEX_FORBIDDEN_APP_SETTINGS, FLEX_FORBIDDEN_SITE_CONFIG, FLEX_FORBIDDEN_SITE_PROPERTIES } from '../../src/stack/flex-consumption';
import { appSettings, campaignsCopy, inProgress, reveal, runProgram, type ProgramRun } from './harness';

const WEB_APP = 'azure-native:web:WebApp';
const lower = (names: readonly string[]) => new Set(names.map((n) => n.toLowerCase()));
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

describe('the Functions app on Flex Consumption', () => {
  let run: ProgramRun;
  beforeAll(async () => {
    const dir = campaignsCopy((_n, t) => inProgress(t));
    dirs.push(dir);
    run = await runProgram({ campaignsDir: dir });
  });

  it('sends no site configuration property Flex Consumption rejects, including the SDK defaults', () => {
    const app = run.one(WEB_APP, 'scheduler-app');
    const siteConfig = reveal<Record<string, unknown> | undefined>(app.inputs.siteConfig) ?? {};
    const forbidden = lower(FLEX_FORBIDDEN_SITE_CONFIG);
    expect(Object.keys(siteConfig).filter((k) => forbidden.has(k.toLowerCase()))).toEqual([]);
    const forbiddenOnSite = lower(FLEX_FORBIDDEN_SITE_PROPERTIES);
    expect(Object.keys(app.inputs).filter((k) => forbiddenOnSite.has(k.toLowerCase()))).toEqual([]);
  });

  it('lists the properties ARM named in its 51021 answers', () => {
    expect(FLEX_FORBIDDEN_SITE_CONFIG).toEqual(expect.arrayContaining([
      'ftpsState', 'use32BitWorkerProcess', 'preWarmedInstanceCount', 'netFrameworkVersion', 'functionsRuntimeScaleMonitoringEnabled', 'linuxFxVersion', 'functionAppScaleLimit',
    ]));
  });

  it('needs no siteConfig at all, because the SDK adds netFrameworkVersion to any siteConfig', async () => {
    // The SDK's own behaviour (web/webApp.js → siteConfigArgsProvideDefaults), shown with a probe resource.
    const web = await import('@pulumi/azure-native/web/index.js');
    new web.WebApp('probe', { resourceGroupName: 'rg', siteConfig: { minTlsVersion: '1.2' } });
    for (let i = 0; i < 100 && !run.resources.some((r) => r.name === 'probe'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(reveal(run.one(WEB_APP, 'probe').inputs.siteConfig)).toMatchObject({ netFrameworkVersion: 'v4.6' });
    expect(run.one(WEB_APP, 'scheduler-app').inputs.siteConfig).toBeUndefined();
  });

  it('puts runtime, scale and the deployment package in functionAppConfig and no deprecated app setting anywhere', () => {
    const config = run.one(WEB_APP, 'scheduler-app').inputs.functionAppConfig;
    expect(config.runtime).toEqual({ name: 'node', version: '22' });
    expect(config.scaleAndConcurrency).toMatchObject({ maximumInstanceCount: 40, instanceMemoryMB: 2048 });
    expect(config.deployment.storage).toMatchObject({ type: 'blobContainer', authentication: { type: 'UserAssignedIdentity' } });
    const forbidden = lower(FLEX_FORBIDDEN_APP_SETTINGS);
    const settings = appSettings(run);
    expect(Object.keys(settings).length).toBeGreaterThan(0);
    expect(Object.keys(settings).filter((k) => forbidden.has(k.toLowerCase()))).toEqual([]);
  });

  it("gives the worker a V8 heap limit well inside the instance's memory", () => {
    const instance = run.one(WEB_APP, 'scheduler-app').inputs.functionAppConfig.scaleAndConcurrency.instanceMemoryMB as number;
    const m = /^--max-old-space-size=(\d+)$/.exec(String(appSettings(run).NODE_OPTIONS));
    expect(m, 'NODE_OPTIONS sets --max-old-space-size').not.toBeNull();
    const heap = Number(m![1]);
    // The young generation, code, buffers and the Functions host live beside the old generation in the instance.
    expect(heap).toBeGreaterThanOrEqual(1024);
    expect(heap).toBeLessThanOrEqual(instance - 512);
    // V8 grows the heap towards the limit before collecting, and a large run's process has held up to about 400 MiB
    // beside it (the scale benchmark's peak RSS): the limit plus that must stay under the 1.5 GiB a run may take.
    expect(heap + 400).toBeLessThanOrEqual(1536);
  });
});
