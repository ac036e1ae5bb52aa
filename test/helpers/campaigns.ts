// Campaign files for tests. A team adds, edits and removes files in campaigns/, so no test depends on the set
// or the content of that directory: a test that needs a specific campaign uses a copy under
// test/fixtures/campaigns/, and a test of campaigns/ itself enumerates it.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** Shaped like a checkout's campaigns/: copies of the example campaigns as they were when the tests were written. */
export const FIXTURE_CAMPAIGNS = path.join(ROOT, 'test', 'fixtures', 'campaigns');

/** Its parent: as the working directory, `--campaign admins-passkeys` resolves to the fixture copy. */
export const FIXTURE_CWD = path.dirname(FIXTURE_CAMPAIGNS);

export type FixtureCampaign = 'admins-passkeys' | 'all-staff-passkeys';

/** The absolute path of a fixture campaign file. */
export function fixtureCampaign(name: FixtureCampaign): string {
  return path.join(FIXTURE_CAMPAIGNS, `${name}.yaml`);
}

/** The text of a fixture campaign file. */
export function fixtureCampaignText(name: FixtureCampaign): string {
  return fs.readFileSync(fixtureCampaign(name), 'utf8');
}

/** Every campaign file in `root`/campaigns/ as `campaigns/NAME.yaml`, sorted: whatever a team keeps there. */
export function repoCampaignFiles(root = ROOT): string[] {
  return fs.readdirSync(path.join(root, 'campaigns')).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => `campaigns/${f}`);
}
