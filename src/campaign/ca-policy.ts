// The Conditional Access policy a campaign declares, in one place: the Pulumi program creates it from this and
// `campaign doctor` compares the tenant's live policy with it, field by field. Pure, no Pulumi.
import { CA_STATE_ENABLED, CA_STATE_REPORT_ONLY, PHISHING_RESISTANT_STRENGTH_ID, caPolicyName, graduatedCaPolicyName } from '../contracts/names';
import type { Campaign } from './types';

export interface DeclaredCaPolicy {
  displayName: string;
  /** `enabledForReportingButNotEnforced` unless the campaign file says `enabled`. */
  state: string;
  clientAppTypes: string[];
  includeApplications: string[];
  /** Break-glass first, then the user exclusions, each once, as written in the file (object id or UPN). */
  excludeUsers: string[];
  excludeGroups: string[];
  grantOperator: 'AND';
  /** The built-in "Phishing-resistant MFA" strength, in the `/policies/authenticationStrengthPolicies/<id>` form. */
  authenticationStrengthPolicyId: string;
}

/** The CA policy state a campaign asks for: report-only unless the file says `enabled`. */
export function caPolicyState(campaign: Campaign): string {
  return campaign.spec.enforcement.policyState === 'enabled' ? CA_STATE_ENABLED : CA_STATE_REPORT_ONLY;
}

/** What the program declares for the campaign; the only include target is the enforcement group (added by the caller, its id is known only once created). */
export function declaredCaPolicy(campaign: Campaign): DeclaredCaPolicy {
  return declare(campaign, caPolicyName(campaign.metadata.name), caPolicyState(campaign));
}

/** Whether the campaign graduates users one by one into a second group covered by an enabled policy. */
export function isGraduated(campaign: Campaign): boolean {
  return campaign.spec.enforcement.mode === 'graduated';
}

/**
 * The second policy of a graduated campaign, or null for any other campaign: always enabled, and the same
 * exclusions, applications and grant as the first; the only include target is the graduated group.
 */
export function declaredGraduatedCaPolicy(campaign: Campaign): DeclaredCaPolicy | null {
  return isGraduated(campaign) ? declare(campaign, graduatedCaPolicyName(campaign.metadata.name), CA_STATE_ENABLED) : null;
}

function declare(campaign: Campaign, displayName: string, state: string): DeclaredCaPolicy {
  const x = campaign.spec.exclusions;
  return {
    displayName,
    state,
    clientAppTypes: ['all'],
    includeApplications: ['All'],
    // Break-glass first: they must be excluded even if a user exclusion fails to resolve.
    excludeUsers: [...new Set([...x.breakGlass, ...x.users])],
    excludeGroups: [...x.groups],
    grantOperator: 'AND',
    authenticationStrengthPolicyId: PHISHING_RESISTANT_STRENGTH_ID,
  };
}

/** The strength's object id, as Graph returns it in grantControls.authenticationStrength.id. */
export function strengthId(policyId: string): string {
  return policyId.split('/').pop() ?? policyId;
}
