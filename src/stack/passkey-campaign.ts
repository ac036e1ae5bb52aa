// One campaign's Entra resources: the enforcement group (members managed by the reconcile job) and a
// Conditional Access policy requiring phishing-resistant MFA for that group only.
import * as azuread from '@pulumi/azuread';
import * as pulumi from '@pulumi/pulumi';
import { isGuid } from '../campaign/roles';
import type { Campaign } from '../campaign/types';
import { CA_STATE_ENABLED, CA_STATE_REPORT_ONLY, PHISHING_RESISTANT_STRENGTH_ID, TYPES, caPolicyName, enforcementGroupName } from '../contracts/names';

export interface PasskeyCampaignArgs {
  /** The normalized campaign, as `campaign validate` loads it. */
  campaign: Campaign;
  /** Object ids of the group's owners: the scheduler identity's service principal (and the deployer). */
  owners: pulumi.Input<pulumi.Input<string>[]>;
}

/** The CA policy state a campaign asks for: report-only unless the file says `enabled`. */
export function caPolicyState(campaign: Campaign): string {
  return campaign.spec.enforcement.policyState === 'enabled' ? CA_STATE_ENABLED : CA_STATE_REPORT_ONLY;
}

export class PasskeyCampaign extends pulumi.ComponentResource {
  /** Object id of the enforcement group. */
  public readonly groupObjectId: pulumi.Output<string>;
  public readonly groupDisplayName: pulumi.Output<string>;
  /** Id of the Conditional Access policy. */
  public readonly policyId: pulumi.Output<string>;
  public readonly policyState: pulumi.Output<string>;
  /** Break-glass and excluded users as object ids (UPNs resolved). */
  public readonly excludedUserIds: pulumi.Output<string[]>;

  constructor(name: string, args: PasskeyCampaignArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.campaign, name, {}, opts);
    const c = args.campaign;
    const campaign = c.metadata.name;

    const group = new azuread.Group(`${name}-group`, {
      displayName: enforcementGroupName(campaign),
      description: `Users enforced by passkey campaign ${campaign}. Members are managed by the reconcile job; do not edit by hand.`,
      securityEnabled: true,
      mailEnabled: false,
      // The reconcile job finds the group by display name; a duplicate would stop every run.
      preventDuplicateNames: true,
      // Owning the group lets the job manage its members without tenant-wide group write rights.
      owners: args.owners,
    }, { parent: this });

    // Break-glass first: they must be excluded even if a user exclusion fails to resolve.
    const wanted = [...new Set([...c.spec.exclusions.breakGlass, ...c.spec.exclusions.users])];
    const excludedUsers = wanted.map((u) =>
      isGuid(u) ? pulumi.output(u) : azuread.getUserOutput({ userPrincipalName: u }, { parent: this }).objectId);

    const state = caPolicyState(c);
    const policy = new azuread.ConditionalAccessPolicy(`${name}-policy`, {
      displayName: caPolicyName(campaign),
      state,
      conditions: {
        clientAppTypes: ['all'],
        applications: { includedApplications: ['All'] },
        users: {
          // Only the enforcement group: the policy has no effect until the job adds the first user.
          includedGroups: [group.objectId],
          excludedUsers,
          excludedGroups: c.spec.exclusions.groups,
        },
      },
      grantControls: { operator: 'AND', authenticationStrengthPolicyId: PHISHING_RESISTANT_STRENGTH_ID },
    }, { parent: this });

    this.groupObjectId = group.objectId;
    this.groupDisplayName = group.displayName;
    this.policyId = policy.id;
    this.policyState = policy.state;
    this.excludedUserIds = pulumi.all(excludedUsers);
    this.registerOutputs({
      groupObjectId: this.groupObjectId,
      groupDisplayName: this.groupDisplayName,
      policyId: this.policyId,
      policyState: this.policyState,
      excludedUserIds: this.excludedUserIds,
    });
  }
}
