// Which campaigns the stack deploys. Loads every file with the same loader as `campaign validate`, so
// an invalid campaign fails `pulumi preview` with the same file:line:col messages. Pure: no Pulumi.
import * as path from 'node:path';
import { loadCampaignFile } from '../campaign/load';
import { issuesOnboardingPasses } from '../campaign/graph-roles';
import type { Campaign, CampaignStatus } from '../campaign/types';
import { formatDiagnostic, validatePaths } from '../campaign/validate';

/** The campaign files do not validate; `message` holds one `file:line:col: …` line per error. */
export class CampaignValidationError extends Error {
  constructor(
    readonly dir: string,
    readonly lines: string[],
  ) {
    super(`invalid campaign files in ${dir} (run bin/campaign validate ${dir} for details):\n${lines.join('\n')}`);
    this.name = 'CampaignValidationError';
  }
}

export interface LoadedCampaign {
  campaign: Campaign;
  /** The file as named in messages (relative to the working directory when inside it). */
  file: string;
}

export interface DeploySelection {
  /** Campaigns that get an enforcement group and a CA policy. */
  deployed: LoadedCampaign[];
  /** notStarted campaigns that never ran: nothing is created for them. */
  skipped: LoadedCampaign[];
}

/** Statuses whose resources exist: a paused or ended campaign keeps its group (enforced users stay enforced). */
const DEPLOYED_STATUSES: readonly CampaignStatus[] = ['inProgress', 'paused', 'ended'];

/** Relative to the working directory when inside it, so messages read like `campaign validate`'s. */
function displayPath(dir: string, cwd: string): string {
  const rel = path.relative(cwd, dir);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : dir;
}

/** Loads and validates every campaign in `dir` (absolute), throwing CampaignValidationError on any error. */
export function loadCampaigns(dir: string, cwd: string = process.cwd()): LoadedCampaign[] {
  const shown = displayPath(dir, cwd);
  let report;
  try {
    report = validatePaths([shown]);
  } catch (err) {
    // validatePaths throws a usage error for a missing or empty directory: same wording as the CLI.
    throw new CampaignValidationError(shown, [(err as Error).message]);
  }
  if (!report.valid) {
    throw new CampaignValidationError(shown, report.files.flatMap((f) => f.errors.map(formatDiagnostic)));
  }
  return report.files.map((f) => {
    const r = loadCampaignFile(f.file);
    // validatePaths just accepted this file, so the loader returns its campaign.
    return { campaign: r.campaign as Campaign, file: f.file };
  });
}

/**
 * A campaign is deployed unless it is notStarted and never started. The program cannot see the tenant
 * or the ledger at preview time, so "started before" is explicit: the stack config lists campaigns that
 * ran and were reset (ended → notStarted) under `previouslyStarted`, which keeps their group and policy.
 */
export function selectDeployed(campaigns: LoadedCampaign[], previouslyStarted: readonly string[]): DeploySelection {
  const deployed: LoadedCampaign[] = [];
  const skipped: LoadedCampaign[] = [];
  for (const c of campaigns) {
    const { name } = c.campaign.metadata;
    const run = DEPLOYED_STATUSES.includes(c.campaign.spec.status) || previouslyStarted.includes(name);
    (run ? deployed : skipped).push(c);
  }
  return { deployed, skipped };
}

/** Configuration a deployed campaign needs from the stack, as one sentence per problem. */
export function configProblems(deployed: LoadedCampaign[], opts: { notificationSender?: string }): string[] {
  const problems: string[] = [];
  for (const { campaign: c, file } of deployed) {
    if (c.spec.notifications.channel === 'email' && !c.spec.notifications.sender && !opts.notificationSender) {
      problems.push(`${file}: campaign "${c.metadata.name}" sends email but names no spec.notifications.sender and passkey-campaigns:notificationSender is not set. Set one of them.`);
    } else if (issuesOnboardingPasses(c) && !c.spec.notifications.sender && !c.spec.notifications.senders?.length && !opts.notificationSender) {
      problems.push(`${file}: campaign "${c.metadata.name}" mails onboarding passes to managers (spec.onboarding.temporaryAccessPass.deliverTo: manager) but names no spec.notifications.sender and passkey-campaigns:notificationSender is not set. Set one of them.`);
    }
  }
  return problems;
}
