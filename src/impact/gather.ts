// Every Graph read `campaign impact` makes: the enforcement group's members, the campaign's Conditional Access
// policy (by display name), the sign-ins of the window. Fail safe: a read that fails, or sign-ins without
// Conditional Access data, throw a typed error naming the cause; nothing here ever yields a partial report.
import type { Campaign } from '../campaign/types';
import { caPolicyName, graduatedGroupName } from '../contracts/names';
import { RuntimeError } from '../errors';
import type { GraphReader } from '../graph/client';
import { GraphError } from '../graph/errors';
import { findEnforcementGroup } from '../observe/observe';
import { ImpactTally, impactWindow, type ImpactMember } from './report';
import { readSignIns } from './signins';

/** What impact read and from where: each read names the permissions Microsoft documents for it. */
export const IMPACT_READS = {
  // signin-list.md: both permissions (a documented known issue: AuditLog.Read.All alone is refused).
  signIns: { what: 'the sign-in logs (GET /auditLogs/signIns)', permissions: 'the permissions AuditLog.Read.All and Directory.Read.All (both)', grant: 'AuditLog.Read.All and Directory.Read.All' },
  // conditionalaccessroot-list-policies.md
  policies: { what: 'the Conditional Access policies (GET /identity/conditionalAccess/policies)', permissions: 'the permission Policy.Read.All', grant: 'Policy.Read.All' },
  // includes/signins-roles-for-ca-data.md: appliedConditionalAccessPolicies needs one of these beside the sign-in permissions.
  caData: { what: 'the Conditional Access data of sign-ins', permissions: 'the permission Policy.Read.All (or Policy.Read.ConditionalAccess)', grant: 'Policy.Read.All (or Policy.Read.ConditionalAccess)' },
} as const;

export type ImpactRead = keyof typeof IMPACT_READS;

/** A read impact depends on failed; `status` is Graph's (403: a permission is missing). */
export class ImpactReadError extends RuntimeError {
  override readonly name = 'ImpactReadError';
  constructor(readonly read: ImpactRead, readonly status: number, readonly code: string, detail: string) {
    const r = IMPACT_READS[read];
    super(status === 403
      ? `reading ${r.what} was refused (403 ${code}): the identity needs ${r.permissions} of Microsoft Graph. No impact is reported.`
      : `reading ${r.what} failed: ${detail} No impact is reported.`,
    false,
    status === 403 ? `Grant ${r.grant} to the identity (application permission, admin consent), then run again.` : 'Check the Graph URL and the tenant, then run again.');
  }
}

/** Sign-ins came without appliedConditionalAccessPolicies, or with the report-only results hidden: the policy's verdicts are unknown. */
export class ConditionalAccessDataMissingError extends RuntimeError {
  override readonly name = 'ConditionalAccessDataMissingError';
  constructor(readonly kind: 'omitted' | 'hidden', readonly signIns: number, readonly total: number) {
    super(kind === 'omitted'
      ? `${signIns} of ${total} sign-ins came without Conditional Access data: the identity may not read it, so what the policy would have done is unknown. No impact is reported.`
      : `${signIns} sign-ins show the policy's result as unknownFutureValue: Graph did not return the report-only results, so what the policy would have done is unknown. No impact is reported.`,
    false,
    kind === 'omitted'
      ? `Grant ${IMPACT_READS.caData.grant} to the identity beside ${IMPACT_READS.signIns.grant}, then run again.`
      : 'The request asks for them with the header "Prefer: include-unknown-enum-members"; check that a proxy between here and Graph keeps it.');
  }
}

/** No single Conditional Access policy carries the campaign's display name. */
export class ImpactPolicyNotFoundError extends RuntimeError {
  override readonly name = 'ImpactPolicyNotFoundError';
  constructor(readonly policyName: string, readonly matches: readonly string[]) {
    super(matches.length === 0
      ? `no Conditional Access policy is named "${policyName}", so there is no report-only impact to read.`
      : `${matches.length} Conditional Access policies are named "${policyName}" (${matches.join(', ')}); impact cannot tell which one is the campaign's.`,
    false,
    matches.length === 0 ? 'Deploy the campaign (pulumi up creates the policy), then run again once its sign-ins are logged.' : 'Delete every policy of that name the stack did not create.');
  }
}

export interface ImpactPolicy {
  id: string;
  displayName: string;
  state: string;
  createdDateTime?: string | null;
}

export interface ImpactGathered {
  groupId: string;
  members: ImpactMember[];
  policy: ImpactPolicy;
  tally: ImpactTally;
  /** Sign-ins read in the window (every user's). */
  signInsRead: number;
  /** Members of the graduated group in graduated mode; null otherwise or when that group does not exist yet. */
  graduated: number | null;
}

interface DirectoryObject {
  id: string;
  '@odata.type'?: string;
  userPrincipalName?: string | null;
}

const isUser = (m: DirectoryObject) => m['@odata.type'] === undefined || m['@odata.type'] === '#microsoft.graph.user';

async function guarded<T>(read: ImpactRead, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    // Throttling or an outage past the retry budget keeps its own message; any other answer names the read.
    if (e instanceof GraphError && e.status >= 400 && e.status !== 401 && e.status !== 429 && e.status < 500) throw new ImpactReadError(read, e.status, e.code, e.message);
    throw e;
  }
}

async function members(graph: GraphReader, groupId: string): Promise<ImpactMember[]> {
  const out: ImpactMember[] = [];
  // group-list-members.md: direct members (the enforcement group holds users only; anything else is skipped).
  await graph.list<DirectoryObject>(`/groups/${groupId}/members`, {
    select: ['id', 'userPrincipalName'], top: 999,
    each: (m) => void (isUser(m) && typeof m.id === 'string' && out.push({ id: m.id.toLowerCase(), userPrincipalName: m.userPrincipalName ?? '' })),
  });
  return out;
}

/** The campaign's policy by display name; policies are few (a tenant holds at most a few hundred), so all are listed. */
export async function findCampaignPolicy(graph: GraphReader, campaign: string): Promise<ImpactPolicy> {
  const name = caPolicyName(campaign);
  const all = await guarded('policies', () => graph.list<ImpactPolicy>('/identity/conditionalAccess/policies', { select: ['id', 'displayName', 'state', 'createdDateTime'] }));
  const found = all.filter((p) => p.displayName === name);
  if (found.length !== 1) throw new ImpactPolicyNotFoundError(name, found.map((p) => p.id));
  return found[0]!;
}

async function graduatedMembers(graph: GraphReader, campaign: Campaign): Promise<number | null> {
  if (campaign.spec.enforcement.mode !== 'graduated') return null;
  const name = graduatedGroupName(campaign.metadata.name);
  const groups = await graph.list<{ id: string }>('/groups', { filter: `displayName eq '${name.replace(/'/g, "''")}'`, select: ['id'] });
  if (groups.length !== 1) return null;
  return (await members(graph, groups[0]!.id)).length;
}

/** Reads everything the report needs for the `days` days before `now`; throws rather than return a partial picture. */
export async function gatherImpact(graph: GraphReader, campaign: Campaign, opts: { now: Date; days: number }): Promise<ImpactGathered> {
  const group = await findEnforcementGroup(graph, campaign.metadata.name);
  const [memberList, policy, graduated] = await Promise.all([members(graph, group.id), findCampaignPolicy(graph, campaign.metadata.name), graduatedMembers(graph, campaign)]);
  const tally = new ImpactTally(policy.id, memberList);
  // Nobody to observe: the gate is not met whatever the logs hold, so they are not read.
  if (memberList.length === 0) return { groupId: group.id, members: memberList, policy, tally, signInsRead: 0, graduated };
  const w = impactWindow(opts.now, opts.days);
  const read = await guarded('signIns', () => readSignIns(graph, { since: w.from, until: w.to }, (f) => tally.add(f)));
  if (read.withoutCaData > 0) throw new ConditionalAccessDataMissingError('omitted', read.withoutCaData, read.read);
  if (tally.hiddenResults > 0) throw new ConditionalAccessDataMissingError('hidden', tally.hiddenResults, tally.signIns.total);
  return { groupId: group.id, members: memberList, policy, tally, signInsRead: read.read, graduated };
}
