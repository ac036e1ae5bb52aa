// One campaign's Entra resources: the enforcement group (members managed by the reconcile job) and a
// Conditional Access policy requiring phishing-resistant MFA for that group only.
import * as azuread from '@pulumi/azuread';
import * as pulumi from '@pulumi/pulumi';
import { isGuid } from '../campaign/roles';
import type { Campaign } from '../campaign/types';
import { caPolicyState, declaredCaPolicy } from '../campaign/ca-policy';
import { TYPES, enforcementGroupName } from '../contracts/names';

export { caPolicyState };

export interface PasskeyCampaignArgs {
  /** The normalized campaign, as `campaign validate` loads it. */
  campaign: Campaign;
  /** Object ids of the group's owners: the scheduler identity's service principal (and the deployer). */
  owners: pulumi.Input<pulumi.Input<string>[]>;
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

    // The declaration (campaign/ca-policy.ts) is shared with `campaign doctor`, which compares the live policy with it.
    const declared = declaredCaPolicy(c);
    const excludedUsers = declared.excludeUsers.map((u) =>
      isGuid(u) ? pulumi.output(u) : azuread.getUserOutput({ userPrincipalName: u }, { parent: this }).objectId);

    const policy = new azuread.ConditionalAccessPolicy(`${name}-policy`, {
      displayName: declared.displayName,
      state: declared.state,
      conditions: {
        clientAppTypes: declared.clientAppTypes,
        applications: { includedApplications: declared.includeApplications },
        users: {
          // Only the enforcement group: the policy has no effect until the job adds the first user.
          includedGroups: [group.objectId],
          excludedUsers,
          excludedGroups: declared.excludeGroups,
        },
      },
      grantControls: { operator: declared.grantOperator, authenticationStrengthPolicyId: declared.authenticationStrengthPolicyId },
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
