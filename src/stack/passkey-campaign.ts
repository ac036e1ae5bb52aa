// One campaign's Entra resources: the enforcement group (members managed by the reconcile job) and a
// Conditional Access policy requiring phishing-resistant MFA for that group only. A graduated campaign adds a
// second group (users whose own sign-ins qualified them) and a second policy, enabled, for that group only.
import * as azuread from '@pulumi/azuread';
import * as pulumi from '@pulumi/pulumi';
import { isGuid } from '../campaign/roles';
import type { Campaign } from '../campaign/types';
import { caPolicyState, declaredCaPolicy, declaredGraduatedCaPolicy, type DeclaredCaPolicy } from '../campaign/ca-policy';
import { TYPES, enforcementGroupName, graduatedGroupName } from '../contracts/names';

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
  /** Graduated campaigns only: object id of the graduated group. */
  public readonly graduatedGroupObjectId?: pulumi.Output<string>;
  public readonly graduatedGroupDisplayName?: pulumi.Output<string>;
  /** Graduated campaigns only: id and state (always enabled) of the graduated group's policy. */
  public readonly graduatedPolicyId?: pulumi.Output<string>;
  public readonly graduatedPolicyState?: pulumi.Output<string>;

  constructor(name: string, args: PasskeyCampaignArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.campaign, name, {}, opts);
    const c = args.campaign;
    const campaign = c.metadata.name;

    const group = this.group(`${name}-group`, enforcementGroupName(campaign),
      `Users enforced by passkey campaign ${campaign}. Members are managed by the reconcile job; do not edit by hand.`, args.owners);

    // The declaration (campaign/ca-policy.ts) is shared with `campaign doctor`, which compares the live policy with it.
    const declared = declaredCaPolicy(c);
    const excludedUsers = declared.excludeUsers.map((u) =>
      isGuid(u) ? pulumi.output(u) : azuread.getUserOutput({ userPrincipalName: u }, { parent: this }).objectId);

    // Only the enforcement group: the policy has no effect until the job adds the first user.
    const policy = this.policy(`${name}-policy`, declared, group, excludedUsers);

    this.groupObjectId = group.objectId;
    this.groupDisplayName = group.displayName;
    this.policyId = policy.id;
    this.policyState = policy.state;
    this.excludedUserIds = pulumi.all(excludedUsers);
    const outputs: pulumi.Inputs = {
      groupObjectId: this.groupObjectId,
      groupDisplayName: this.groupDisplayName,
      policyId: this.policyId,
      policyState: this.policyState,
      excludedUserIds: this.excludedUserIds,
    };

    const graduated = declaredGraduatedCaPolicy(c);
    if (graduated) {
      // Owned like the enforcement group, so the job moves users into it without tenant-wide group write rights.
      const gGroup = this.group(`${name}-graduated-group`, graduatedGroupName(campaign),
        `Users of passkey campaign ${campaign} whose own sign-ins showed no would-block result; enforced by an enabled policy. Members are managed by the reconcile job; do not edit by hand.`, args.owners);
      // Same exclusions (the same resolved ids), applications and grant as the first policy; only the group differs.
      const gPolicy = this.policy(`${name}-graduated-policy`, graduated, gGroup, excludedUsers);
      this.graduatedGroupObjectId = gGroup.objectId;
      this.graduatedGroupDisplayName = gGroup.displayName;
      this.graduatedPolicyId = gPolicy.id;
      this.graduatedPolicyState = gPolicy.state;
      Object.assign(outputs, {
        graduatedGroupObjectId: this.graduatedGroupObjectId,
        graduatedGroupDisplayName: this.graduatedGroupDisplayName,
        graduatedPolicyId: this.graduatedPolicyId,
        graduatedPolicyState: this.graduatedPolicyState,
      });
    }
    this.registerOutputs(outputs);
  }

  private group(resourceName: string, displayName: string, description: string, owners: pulumi.Input<pulumi.Input<string>[]>): azuread.Group {
    return new azuread.Group(resourceName, {
      displayName,
      description,
      securityEnabled: true,
      mailEnabled: false,
      // The reconcile job finds the group by display name; a duplicate would stop every run.
      preventDuplicateNames: true,
      // Owning the group lets the job manage its members without tenant-wide group write rights.
      owners,
    }, { parent: this });
  }

  /** A policy as declared, including only `group`. */
  private policy(resourceName: string, declared: DeclaredCaPolicy, group: azuread.Group, excludedUsers: pulumi.Output<string>[]): azuread.ConditionalAccessPolicy {
    return new azuread.ConditionalAccessPolicy(resourceName, {
      displayName: declared.displayName,
      state: declared.state,
      conditions: {
        clientAppTypes: declared.clientAppTypes,
        applications: { includedApplications: declared.includeApplications },
        users: {
          includedGroups: [group.objectId],
          excludedUsers,
          excludedGroups: declared.excludeGroups,
        },
      },
      grantControls: { operator: declared.grantOperator, authenticationStrengthPolicyId: declared.authenticationStrengthPolicyId },
    }, { parent: this });
  }
}
