// `campaign teams-app`: the Teams app package for the org catalog (concepts/teams-send-activityfeednotifications.md:
// the manifest declares the activity type with its templateText and names the sending identity in
// webApplicationInfo; Teams wants manifest.json and the two icons at the root of the zip, a 192×192 colour icon and
// a 32×32 outline icon that is white on transparent).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { readStoredZip } from '../../src/apps/cli/zip';
import { notificationRequest, TEAMS_ACTIVITY_TYPE } from '../../src/notify/channels';
import { captureIo } from '../helpers/io';

const ROOT = path.resolve(__dirname, '..', '..');
const CLIENT_ID = '3F2504E0-4F89-41D3-9A0C-0305E82C3301';
let tmp: string | undefined;
afterEach(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

async function build(args: string[]) {
  tmp ??= fs.mkdtempSync(path.join(os.tmpdir(), 'teams-app-'));
  const io = captureIo(tmp);
  const code = await run(['teams-app', ...args], io);
  return { code, out: io.out(), err: io.err(), dir: tmp };
}

/** Width, height and RGBA pixels of an 8-bit RGBA, non-interlaced PNG with filter type 0 rows (what icons.mjs writes). */
function decodePng(png: Buffer) {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  expect([png[24], png[25], png[28]]).toEqual([8, 6, 0]);
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const pixels: number[][] = [];
  for (let y = 0; y < height; y++) {
    expect(raw[y * (1 + width * 4)]).toBe(0);
    for (let x = 0; x < width; x++) pixels.push([...raw.subarray(y * (1 + width * 4) + 1 + x * 4, y * (1 + width * 4) + 5 + x * 4)]);
  }
  return { width, height, pixels };
}

describe('campaign teams-app', () => {
  it('writes a zip with manifest.json, color.png and outline.png at its root', async () => {
    const r = await build(['--client-id', CLIENT_ID, '--out', 'app.zip']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`webApplicationInfo.id ${CLIENT_ID.toLowerCase()}`);
    const entries = readStoredZip(fs.readFileSync(path.join(r.dir, 'app.zip')));
    expect(entries.map((e) => e.name)).toEqual(['manifest.json', 'color.png', 'outline.png']);
  });

  it('fills the manifest: schema 1.22, the identity in webApplicationInfo, the activity type with a templateText using every parameter the job sends', async () => {
    const r = await build(['--client-id', CLIENT_ID, '--out', 'app.zip', '--app-version', '2.3.4', '--tab-url', 'https://passkeys.contoso.com/start']);
    const manifest = JSON.parse(readStoredZip(fs.readFileSync(path.join(r.dir, 'app.zip')))[0]!.data.toString('utf8'));
    expect(manifest.$schema).toBe('https://developer.microsoft.com/json-schemas/teams/v1.22/MicrosoftTeams.schema.json');
    expect(manifest.manifestVersion).toBe('1.22');
    expect(manifest.version).toBe('2.3.4');
    expect(manifest.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(manifest.webApplicationInfo).toEqual({ id: CLIENT_ID.toLowerCase() });
    expect(manifest.icons).toEqual({ color: 'color.png', outline: 'outline.png' });
    expect(manifest.validDomains).toEqual(['passkeys.contoso.com']);
    expect(manifest.staticTabs).toEqual([expect.objectContaining({ entityId: 'passkeys', contentUrl: 'https://passkeys.contoso.com/start', scopes: ['personal'] })]);
    expect(JSON.stringify(manifest)).not.toMatch(/\{\{/);
    const [type] = manifest.activities.activityTypes;
    expect(type.type).toBe(TEAMS_ACTIVITY_TYPE);
    // The request the job sends: its activity type is the declared one, each template parameter is in the template,
    // and its webUrl opens the app's tab.
    const req = notificationRequest({ channel: 'teams', teamsAppId: 'catalog-id' }, { userId: 'u1', userPrincipalName: 'u1@contoso.com', mail: null }, { title: 'T', text: 'Hi', html: '<p>Hi</p>' } as never, 'k', '0')!;
    const body = req.body as { activityType: string; topic: { webUrl: string }; templateParameters: Array<{ name: string }> };
    expect(body.activityType).toBe(type.type);
    for (const p of body.templateParameters) expect(type.templateText).toContain(`{${p.name}}`);
    expect(body.topic.webUrl).toBe(`https://teams.microsoft.com/l/entity/catalog-id/${manifest.staticTabs[0].entityId}`);
  });

  it('ships a 192×192 colour icon and a 32×32 outline icon that is white on transparent, both as icons.mjs generates them', async () => {
    const r = await build(['--client-id', CLIENT_ID, '--out', 'app.zip']);
    const [, color, outline] = readStoredZip(fs.readFileSync(path.join(r.dir, 'app.zip')));
    const c = decodePng(color!.data);
    expect([c.width, c.height]).toEqual([192, 192]);
    expect(c.pixels.every((p) => p[3] === 255)).toBe(true);
    const o = decodePng(outline!.data);
    expect([o.width, o.height]).toEqual([32, 32]);
    expect(o.pixels.every(([r, g, b]) => r === 255 && g === 255 && b === 255)).toBe(true);
    expect(o.pixels.some((p) => p[3] === 0)).toBe(true);
    expect(o.pixels.some((p) => p[3] === 255)).toBe(true);
    const icons = (await import(pathToFileURL(path.join(ROOT, 'teams-app', 'icons.mjs')).href)) as { colorIcon(): Buffer; outlineIcon(): Buffer };
    expect(color!.data.equals(icons.colorIcon())).toBe(true);
    expect(outline!.data.equals(icons.outlineIcon())).toBe(true);
  });

  it('builds the same bytes twice', async () => {
    await build(['--client-id', CLIENT_ID, '--out', 'a.zip', '--app-version', '1.0.0']);
    const r = await build(['--client-id', CLIENT_ID, '--out', 'b.zip', '--app-version', '1.0.0']);
    expect(fs.readFileSync(path.join(r.dir, 'a.zip')).equals(fs.readFileSync(path.join(r.dir, 'b.zip')))).toBe(true);
  });

  it.each([
    { name: 'no --client-id', args: [], err: /--client-id is required/ },
    { name: 'a client id that is no GUID', args: ['--client-id', 'scheduler'], err: /--client-id must be the identity's application \(client\) id, a GUID/ },
    { name: 'a tab URL over http', args: ['--client-id', CLIENT_ID, '--tab-url', 'http://contoso.com'], err: /--tab-url must be an https URL/ },
    { name: 'a version that is not X.Y.Z', args: ['--client-id', CLIENT_ID, '--app-version', '1.0'], err: /--app-version must be X\.Y\.Z/ },
  ])('exits 2 with one clear line and writes nothing for $name', async ({ args, err }) => {
    const r = await build([...args, '--out', 'app.zip']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(err);
    expect(r.err).not.toMatch(/at .*\.ts:\d+/);
    expect(fs.existsSync(path.join(r.dir, 'app.zip'))).toBe(false);
  });
});
