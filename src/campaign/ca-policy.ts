// The Conditional Access policy a campaign declares, in one place: the Pulumi program creates it from this and
// `campaign doctor` compares the tenant's live policy with it, field by field. Pure, no Pulumi.
import { CA_STATE_ENABLED, CA_STATE_REPORT_ONLY, PHISHING_RESISTANT_STRENGTH_ID, caPolicyName } from '../contracts/names';
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
  const x = campaign.spec.exclusions;
  return {
    displayName: caPolicyName(campaign.metadata.name),
    state: caPolicyState(campaign),
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
