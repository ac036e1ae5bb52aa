// What several commands share: finding the campaign, the state store, the Graph client.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCampaignFiles, parseCampaign } from '../../campaign/load';
import { sha256Hex } from '../../campaign/identity';
import type { Campaign } from '../../campaign/types';
import { UsageError } from '../../errors';
import { formatDiagnostic } from '../../campaign/validate';
import { stringFlag, type Parsed } from './args';
import type { Io } from './io';
import type { LedgerStore } from '../../ledger/store';
import { println } from './io';
import { atPathSync, type PathUse } from './path-errors';

export const COMMON_GRAPH_FLAGS = {
  campaign: { type: 'string' },
  'graph-url': { type: 'string' },
  state: { type: 'string' },
  now: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Thrown when the campaign file itself is invalid: its findings were printed, exit 1. */
export class CampaignInvalid extends Error {}

/** A campaign resolved from `--campaign`: the file's bytes as read, hashed and decoded once. */
export interface ResolvedCampaign {
  campaign: Campaign;
  /** Absolute path of the campaign file. */
  file: string;
  /** Hex SHA-256 of the bytes that were parsed. */
  sha256: string;
  /** Those bytes, for campaignIdentity (the commit they came from). */
  bytes: Buffer;
}

/** `--campaign NAME|FILE`: a path to a campaign file, or a name looked up in campaigns/. */
export function resolveCampaign(value: string, io: Io): ResolvedCampaign {
  const looksLikeFile = /\.ya?ml$/i.test(value) || value.includes('/') || value.includes(path.sep);
  let file: string | undefined;
  if (looksLikeFile) {
    file = path.resolve(io.cwd, value);
    if (!fs.existsSync(file)) throw new UsageError(`--campaign ${value}: no such file.`);
  } else {
    const dir = path.resolve(io.cwd, 'campaigns');
    const candidates = fs.existsSync(dir) ? atPathSync({ subject: `--campaign ${value}`, path: dir, expects: 'a campaign name from campaigns/ or the path to a campaign file' }, () => listCampaignFiles(dir)) : [];
    file = candidates.find((f) => path.basename(f).replace(/\.ya?ml$/i, '') === value);
    if (!file) {
      const names = candidates.map((f) => path.basename(f).replace(/\.ya?ml$/i, ''));
      throw new UsageError(`--campaign ${value}: no campaign of that name in ${path.relative(io.cwd, dir) || dir}/.`, names.length ? `Known campaigns: ${names.join(', ')}.` : 'Pass the path to a campaign file instead.');
    }
  }
  // Read the resolved file; name it as the user wrote it, or relative to io.cwd when found by name.
  const shown = looksLikeFile ? value : path.relative(io.cwd, file);
  const found = file;
  // Read once as bytes: hashed for the run's record (runStarted campaignSha256), then decoded as UTF-8 for parsing.
  const bytes = atPathSync({ subject: `--campaign ${value}`, path: found, expects: 'a campaign file (.yaml) or a campaign name' }, () => fs.readFileSync(found));
  const r = parseCampaign(bytes.toString('utf8'), shown);
  if (!r.campaign) {
    for (const d of r.errors) println(io.stderr, formatDiagnostic(d));
    println(io.stderr, `the campaign file is invalid; fix it (campaign validate ${r.file}) and run again.`);
    throw new CampaignInvalid();
  }
  return { campaign: r.campaign, file, sha256: sha256Hex(bytes), bytes };
}

/** `--state` (or CAMPAIGN_STATE): a directory, `azblob://ACCOUNT/CONTAINER[/prefix]` or a connection string. */
export async function openStateStore(p: Parsed, io: Io): Promise<LedgerStore> {
  const { openStore } = await import('../../ledger/open-store.js');
  return openStore(stringFlag(p, 'state') ?? io.env.CAMPAIGN_STATE ?? '.campaign-state', { cwd: io.cwd });
}

/** The `--state` directory as a PathUse, so file-system failures name it; undefined for a blob store. */
export async function stateUse(p: Parsed, io: Io): Promise<PathUse | undefined> {
  const { parseStateSpec } = await import('../../ledger/open-store.js');
  const flag = stringFlag(p, 'state');
  const value = flag ?? io.env.CAMPAIGN_STATE ?? '.campaign-state';
  const location = parseStateSpec(value, { cwd: io.cwd });
  if (location.kind !== 'file') return undefined;
  const subject = flag !== undefined ? `--state ${value}` : io.env.CAMPAIGN_STATE !== undefined ? `CAMPAIGN_STATE=${value}` : `the default --state ${value}`;
  return { subject, path: location.dir, expects: 'a directory for the ledger (it is created if missing)' };
}

export function graphUrl(p: Parsed, io: Io): string {
  return stringFlag(p, 'graph-url') ?? io.env.CAMPAIGN_GRAPH_URL ?? 'https://graph.microsoft.com';
}
