// `campaign teams-app --client-id ID [--out FILE] [--tab-url URL] [--app-version X.Y.Z] [--developer NAME]`:
// builds the Teams app package (manifest.json + icons, zipped) for the organization's app catalog from teams-app/.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RuntimeError, UsageError } from '../../errors';
import { TEAMS_ACTIVITY_TYPE, TEAMS_ENTITY_ID } from '../../notify/channels';
import { parseFlags, requireFlag, stringFlag } from './args';
import { println, type Io } from './io';
import { zipStore, type ZipEntry } from './zip';

export const HELP = `Usage: campaign teams-app --client-id ID [--out FILE] [--tab-url URL] [--app-version X.Y.Z] [--developer NAME]

Builds the campaign's Teams app package for your organization's app catalog: the manifest from
teams-app/manifest.template.json (declaring the passkeyCampaign activity type) with the scheduler
identity's client id in webApplicationInfo, and the two icons, in one zip.

  --client-id ID      the application (client) id of the identity that sends the notifications (a GUID;
                      the managed identity's client id, pulumi stack output schedulerClientId)
  --out FILE          where to write the zip (default: passkey-campaign-teams-app.zip)
  --tab-url URL       the https page the app's personal tab and the notifications open (default:
                      https://mysignins.microsoft.com/security-info, where users register a passkey)
  --app-version V     the manifest version, X.Y.Z (default: this tool's version); raise it for every update
                      you upload, Teams keeps the highest
  --developer NAME    the publisher shown in Teams (default: "IT department")

Upload the zip in the Teams admin center (Teams apps > Manage apps > Upload new app), then set
CAMPAIGN_TEAMS_APP_ID (Pulumi: passkey-campaigns:teamsAppId) to the app's id in the catalog.

Exit status: 0 written, 2 usage or runtime error.`;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const VERSION = /^\d{1,9}\.\d{1,9}\.\d{1,9}$/;
export const DEFAULT_TAB_URL = 'https://mysignins.microsoft.com/security-info';
export const DEFAULT_OUT = 'passkey-campaign-teams-app.zip';

/** The repository's teams-app/ folder, from src/apps/cli or dist/apps/cli alike. */
export const TEAMS_APP_DIR = join(__dirname, '..', '..', '..', 'teams-app');

export interface TeamsAppOptions {
  clientId: string;
  tabUrl?: string;
  version: string;
  developer?: string;
  dir?: string;
}

/** The manifest and icons, as the zip's entries (manifest.json first, all at the root as Teams requires). */
export function teamsAppEntries(o: TeamsAppOptions): ZipEntry[] {
  if (!GUID.test(o.clientId)) throw new UsageError(`--client-id must be the identity's application (client) id, a GUID such as 00000000-0000-0000-0000-000000000000 (got "${o.clientId}").`);
  if (!VERSION.test(o.version)) throw new UsageError(`--app-version must be X.Y.Z, e.g. 1.0.0 (got "${o.version}").`);
  const tabUrl = o.tabUrl ?? DEFAULT_TAB_URL;
  let url: URL;
  try {
    url = new URL(tabUrl);
  } catch {
    throw new UsageError(`--tab-url must be an https URL (got "${tabUrl}").`);
  }
  if (url.protocol !== 'https:') throw new UsageError(`--tab-url must be an https URL (got "${tabUrl}").`);
  const dir = o.dir ?? TEAMS_APP_DIR;
  const file = (name: string) => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new RuntimeError(`${path} is missing: the Teams app folder is incomplete.`, false, 'Run the command from a complete checkout (node teams-app/icons.mjs regenerates the icons).');
    return readFileSync(path);
  };
  const values: Record<string, string> = { CLIENT_ID: o.clientId.toLowerCase(), VERSION: o.version, TAB_URL: url.href, TAB_DOMAIN: url.host, DEVELOPER_NAME: o.developer ?? 'IT department' };
  const text = file('manifest.template.json').toString('utf8').replace(/\{\{([A-Z_]+)\}\}/g, (m, k: string) => JSON.stringify(values[k] ?? m).slice(1, -1));
  const manifest = JSON.parse(text) as { activities?: { activityTypes?: Array<{ type: string }> }; staticTabs?: Array<{ entityId: string }> };
  // The job sends this activity type and links to this tab: a template that lost either would fail every notice.
  if (!manifest.activities?.activityTypes?.some((a) => a.type === TEAMS_ACTIVITY_TYPE)) throw new RuntimeError(`teams-app/manifest.template.json does not declare the activity type ${TEAMS_ACTIVITY_TYPE}.`);
  if (!manifest.staticTabs?.some((t) => t.entityId === TEAMS_ENTITY_ID)) throw new RuntimeError(`teams-app/manifest.template.json has no static tab with entityId ${TEAMS_ENTITY_ID}.`);
  return [
    { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8') },
    { name: 'color.png', data: file('color.png') },
    { name: 'outline.png', data: file('outline.png') },
  ];
}

function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version.replace(/[-+].*$/, '');
}

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseFlags('teams-app', argv, { 'client-id': { type: 'string' }, out: { type: 'string' }, 'tab-url': { type: 'string' }, 'app-version': { type: 'string' }, developer: { type: 'string' } });
  if (p.values.help) {
    println(io.stdout, HELP);
    return 0;
  }
  const clientId = requireFlag(p, 'client-id', 'teams-app');
  const entries = teamsAppEntries({ clientId, tabUrl: stringFlag(p, 'tab-url'), version: stringFlag(p, 'app-version') ?? toolVersion(), developer: stringFlag(p, 'developer') });
  const out = resolve(io.cwd, stringFlag(p, 'out') ?? DEFAULT_OUT);
  writeFileSync(out, zipStore(entries));
  const manifest = JSON.parse(entries[0]!.data.toString('utf8')) as { id: string; version: string };
  println(io.stdout, `wrote ${out} (manifest id ${manifest.id}, version ${manifest.version}, webApplicationInfo.id ${clientId.toLowerCase()}).`);
  println(io.stdout, 'Upload it to the org catalog (Teams admin center > Teams apps > Manage apps > Upload new app), then set CAMPAIGN_TEAMS_APP_ID to the id the catalog gives it.');
  return 0;
}
