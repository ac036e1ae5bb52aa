// The Pulumi program: loads every campaign with the same loader as `campaign validate` (an invalid
// campaign fails `pulumi preview` with the same file:line:col messages), then wires the components.
import * as azuread from '@pulumi/azuread';
import * as pulumi from '@pulumi/pulumi';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { CampaignScheduler } from './campaign-scheduler';
import { CampaignValidationError, configProblems, loadCampaigns, selectDeployed, type LoadedCampaign } from './campaigns';
import * as cfg from './config';
import { FUNCTIONS_NODE_VERSION_FILE, parseFunctionsNodeVersion } from './flex-consumption';
import { requiredGraphRoles } from './graph-roles';
import { PasskeyCampaign } from './passkey-campaign';

function load(): LoadedCampaign[] {
  try {
    return loadCampaigns(path.resolve(__dirname, '..', '..', cfg.campaignsDir));
  } catch (err) {
    // RunError: Pulumi prints the message without a stack trace, like `campaign validate` would.
    if (err instanceof CampaignValidationError) throw new pulumi.RunError(err.message);
    throw err;
  }
}

const { deployed, skipped } = selectDeployed(load(), cfg.previouslyStarted);
const problems = configProblems(deployed, { notificationSender: cfg.notificationSender });
if (problems.length) throw new pulumi.RunError(problems.join('\n'));
if (!cfg.teamsAppId && deployed.some((d) => d.campaign.spec.notifications.channel === 'teams')) {
  pulumi.log.warn('a campaign notifies via Teams but passkey-campaigns:teamsAppId is not set; Teams notifications cannot be sent.');
}
const campaigns = deployed.map((d) => d.campaign);

function nodeVersion(): string {
  try {
    return parseFunctionsNodeVersion(fs.readFileSync(path.resolve(__dirname, '..', '..', FUNCTIONS_NODE_VERSION_FILE), 'utf8'));
  } catch (err) {
    throw new pulumi.RunError(err instanceof Error ? err.message : String(err));
  }
}

const scheduler = new CampaignScheduler('scheduler', {
  namePrefix: cfg.namePrefix,
  location: cfg.location,
  storageSku: cfg.storageSku,
  schedule: cfg.schedule,
  // Every deployed campaign, not only inProgress ones: the job must record paused and ended (an idle run) so it
  // can refuse a move that skips a step, and must see notStarted after ended to reset the campaign (run.ts).
  campaigns: campaigns.map((c) => c.metadata.name),
  campaignsDir: cfg.campaignsDir,
  graphUrl: cfg.graphUrl,
  notificationSender: cfg.notificationSender,
  teamsAppId: cfg.teamsAppId,
  postponeKey: cfg.postponeKey,
  postponeKeyPrevious: cfg.postponeKeyPrevious,
  graphRoles: requiredGraphRoles(campaigns, { groupMemberWrite: cfg.groupMemberWrite }),
  maximumInstanceCount: cfg.maximumInstanceCount,
  logRetentionDays: cfg.logRetentionDays,
  nodeVersion: nodeVersion(),
  auditReaderPrincipalId: cfg.auditReaderPrincipalId,
});

// The deployer stays an owner too, so CI can keep managing the groups it creates.
const deployer = azuread.getClientConfigOutput();
const components = campaigns.map((campaign) => new PasskeyCampaign(campaign.metadata.name, {
  campaign,
  owners: [scheduler.identityPrincipalId, deployer.objectId],
}));

export const deployedCampaigns = campaigns.map((c) => ({ name: c.metadata.name, status: c.spec.status }));
export const skippedCampaigns = skipped.map((s) => s.campaign.metadata.name);
export const enforcementGroups = Object.fromEntries(components.map((c, i) => [campaigns[i].metadata.name, c.groupObjectId]));
export const conditionalAccessPolicies = Object.fromEntries(components.map((c, i) => [campaigns[i].metadata.name, { id: c.policyId, state: c.policyState }]));
// Graduated campaigns only: the second group and its enabled policy, keyed like the two above.
const graduated = components.flatMap((c, i) => (c.graduatedGroupObjectId && c.graduatedPolicyId && c.graduatedPolicyState
  ? [{ campaign: campaigns[i].metadata.name, group: c.graduatedGroupObjectId, policy: { id: c.graduatedPolicyId, state: c.graduatedPolicyState } }] : []));
export const graduatedGroups = Object.fromEntries(graduated.map((g) => [g.campaign, g.group]));
export const graduatedConditionalAccessPolicies = Object.fromEntries(graduated.map((g) => [g.campaign, g.policy]));
export const resourceGroupName = scheduler.resourceGroupName;
export const functionAppName = scheduler.functionAppName;
export const functionAppHostName = scheduler.functionAppHostName;
export const postponeUrl = scheduler.postponeUrl;
export const ledgerUrl = scheduler.ledgerUrl;
export const schedulerClientId = scheduler.identityClientId;
export const schedulerPrincipalId = scheduler.identityPrincipalId;
export const graphAppRoles = scheduler.graphRoles;
export const keyVaultName = scheduler.keyVaultName;
