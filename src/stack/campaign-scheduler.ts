// Once per stack: the Azure side of the reconcile job. A Flex Consumption Function App (Linux, Node.js from
// deploy/functions/.node-version) runs `campaign reconcile` on a timer and serves postponement links; it
// authenticates to Graph, storage and its Key Vault as one user-assigned identity whose rights are listed here.
import * as applicationinsights from '@pulumi/azure-native/applicationinsights';
import * as authorization from '@pulumi/azure-native/authorization';
import * as keyvault from '@pulumi/azure-native/keyvault';
import * as managedidentity from '@pulumi/azure-native/managedidentity';
import * as operationalinsights from '@pulumi/azure-native/operationalinsights';
import * as resources from '@pulumi/azure-native/resources';
import * as storage from '@pulumi/azure-native/storage';
import * as web from '@pulumi/azure-native/web';
import * as azuread from '@pulumi/azuread';
import * as pulumi from '@pulumi/pulumi';
import { createHash } from 'node:crypto';
import { APP_SETTINGS, FUNCTIONS_INSTANCE_MEMORY_MB, FUNCTIONS_NODE_OPTIONS, MIN_POSTPONE_KEY_BYTES, keyVaultReference, ledgerUrl } from '../contracts/scheduler';
import { GRAPH_ROLE_REASONS, type GraphRole } from './graph-roles';
import { AZURE_ROLES, MICROSOFT_GRAPH_APP_ID, TYPES } from '../contracts/names';

export interface CampaignSchedulerArgs {
  /** Prefix of Azure resource names. */
  namePrefix: string;
  /** Azure region. */
  location: string;
  /** Storage replication, e.g. Standard_LRS. */
  storageSku: string;
  /** NCRONTAB (six fields, UTC) of the reconcile timer. */
  schedule: string;
  /** Campaigns the timer reconciles (the in-progress ones). */
  campaigns: string[];
  /** Directory of campaign files inside the deployed package. */
  campaignsDir: string;
  /** Microsoft Graph base URL. */
  graphUrl: string;
  /** Default sender mailbox of email notifications. */
  notificationSender?: string;
  /** Teams app id for activity feed notifications. */
  teamsAppId?: string;
  /** HMAC key of postponement links (secret, ≥ 32 bytes). */
  postponeKey: pulumi.Input<string>;
  /** The key before the last rotation (secret), accepted for verifying links only. */
  postponeKeyPrevious?: pulumi.Input<string>;
  /** Microsoft Graph app roles the identity gets (least privilege for the deployed campaigns). */
  graphRoles: GraphRole[];
  /** Upper bound of Function App instances. */
  maximumInstanceCount: number;
  /** Days Log Analytics keeps logs. */
  logRetentionDays: number;
  /** Node.js major of the Functions runtime (deploy/functions/.node-version, flex-consumption.ts). */
  nodeVersion: string;
  /** Service principal (object id) of the audit identity: Storage Blob Data Reader on the ledger container. */
  auditReaderPrincipalId?: string;
}

/**
 * Short suffix for globally unique names (storage accounts, function app host names): deterministic for one
 * subscription and stack, so names stay stable across `up`s, and different between adopters, whose subscription
 * ids differ even when prefix, project and stack names are the same.
 */
export function uniqueSuffix(subscriptionId: string, project: string, stack: string): string {
  return createHash('sha256').update(`${subscriptionId.toLowerCase()}/${project}/${stack}`).digest('hex').slice(0, 6);
}

/** Storage account name: 3–24 lower-case letters and digits. */
export function storageAccountName(prefix: string, kind: string, suffix: string): string {
  return `${prefix.replace(/[^a-z0-9]/g, '').slice(0, 24 - kind.length - suffix.length)}${kind}${suffix}`;
}

/**
 * Key Vault name: 3–24 letters, digits and single dashes, starting with a letter and ending with a letter or digit
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftkeyvault).
 * Vault names are global (`<name>.vault.azure.net`), so it carries the per-adopter suffix like the storage accounts.
 */
export function keyVaultName(prefix: string, suffix: string): string {
  const tail = `-kv-${suffix}`;
  const head = prefix.toLowerCase().replace(/[^a-z0-9-]/g, '').replace(/-+/g, '-').slice(0, 24 - tail.length).replace(/-+$/, '');
  return `${head}${tail}`;
}

/** Storage settings both accounts share: Entra ID only, private, TLS 1.2. */
function hardenedStorage(sku: string): Omit<storage.StorageAccountArgs, 'resourceGroupName' | 'location' | 'accountName'> {
  return {
    kind: 'StorageV2',
    sku: { name: sku },
    allowBlobPublicAccess: false,
    minimumTlsVersion: 'TLS1_2',
    // Keys would bypass the container-scoped roles below; everything authenticates with Entra ID.
    allowSharedKeyAccess: false,
    defaultToOAuthAuthentication: true,
    enableHttpsTrafficOnly: true,
  };
}

export class CampaignScheduler extends pulumi.ComponentResource {
  public readonly resourceGroupName: pulumi.Output<string>;
  /** Client id of the scheduler identity (AZURE_CLIENT_ID of the job). */
  public readonly identityClientId: pulumi.Output<string>;
  /** Object id of the identity's service principal: owner of the enforcement groups. */
  public readonly identityPrincipalId: pulumi.Output<string>;
  /** azblob://<account>/<container> */
  public readonly ledgerUrl: pulumi.Output<string>;
  public readonly functionAppName: pulumi.Output<string>;
  public readonly functionAppHostName: pulumi.Output<string>;
  /** Public URL of the postponement endpoint. */
  public readonly postponeUrl: pulumi.Output<string>;
  public readonly graphRoles: pulumi.Output<string[]>;
  /** Name of the Key Vault holding the postponement keys. */
  public readonly keyVaultName: pulumi.Output<string>;

  constructor(name: string, args: CampaignSchedulerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.scheduler, name, {}, opts);
    const parent = { parent: this };
    // The deployer's subscription (where everything below lives) makes the globally unique names per adopter.
    const client = authorization.getClientConfigOutput(parent);
    const suffix = client.subscriptionId.apply((sub) => uniqueSuffix(sub, pulumi.getProject(), pulumi.getStack()));
    const base = `${args.namePrefix}-${pulumi.getStack()}`;

    const rg = new resources.ResourceGroup(`${name}-rg`, { resourceGroupName: `${base}-rg`, location: args.location }, parent);
    const inRg = { resourceGroupName: rg.name, location: rg.location };

    const identity = new managedidentity.UserAssignedIdentity(`${name}-identity`, { ...inRg, resourceName: `${base}-scheduler` }, parent);

    const workspace = new operationalinsights.Workspace(`${name}-logs`, {
      ...inRg, workspaceName: `${base}-logs`, sku: { name: 'PerGB2018' }, retentionInDays: args.logRetentionDays,
    }, parent);
    const insights = new applicationinsights.Component(`${name}-insights`, {
      ...inRg, resourceName: `${base}-insights`, kind: 'web', applicationType: 'web', workspaceResourceId: workspace.id, ingestionMode: 'LogAnalytics',
    }, parent);

    // The ledger: audit evidence, in its own account so no role outside the ledger container reaches it.
    const ledgerAccount = new storage.StorageAccount(`${name}-ledger`, {
      ...inRg, accountName: suffix.apply((x) => storageAccountName(args.namePrefix, 'led', x)), ...hardenedStorage(args.storageSku),
    }, parent);
    new storage.BlobServiceProperties(`${name}-ledger-blob`, {
      resourceGroupName: rg.name, accountName: ledgerAccount.name, blobServicesName: 'default',
      // A deleted ledger can be recovered for 30 days.
      deleteRetentionPolicy: { enabled: true, days: 30 },
      containerDeleteRetentionPolicy: { enabled: true, days: 30 },
    }, parent);
    const ledgerContainer = new storage.BlobContainer(`${name}-ledger-container`, {
      resourceGroupName: rg.name, accountName: ledgerAccount.name, containerName: 'ledger', publicAccess: 'None',
    }, parent);

    // The Functions host's own storage (leases of the timer, the deployment package).
    const hostAccount = new storage.StorageAccount(`${name}-host`, {
      ...inRg, accountName: suffix.apply((x) => storageAccountName(args.namePrefix, 'fn', x)), ...hardenedStorage(args.storageSku),
    }, parent);
    const deployContainer = new storage.BlobContainer(`${name}-deploy-container`, {
      resourceGroupName: rg.name, accountName: hostAccount.name, containerName: 'app-package', publicAccess: 'None',
    }, parent);

    const roleId = (id: string) => pulumi.interpolate`/subscriptions/${client.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${id}`;
    // Read, write, append and lease ledger blobs — scoped to the ledger container, not the account.
    const ledgerRole = new authorization.RoleAssignment(`${name}-ledger-role`, {
      principalId: identity.principalId, principalType: 'ServicePrincipal',
      roleDefinitionId: roleId(AZURE_ROLES.storageBlobDataContributor),
      scope: pulumi.interpolate`${ledgerAccount.id}/blobServices/default/containers/${ledgerContainer.name}`,
    }, parent);
    // The daily audit reads the ledgers and writes nothing: read and list blobs, in the ledger container only.
    if (args.auditReaderPrincipalId) {
      new authorization.RoleAssignment(`${name}-audit-reader-role`, {
        principalId: args.auditReaderPrincipalId, principalType: 'ServicePrincipal',
        roleDefinitionId: roleId(AZURE_ROLES.storageBlobDataReader),
        scope: pulumi.interpolate`${ledgerAccount.id}/blobServices/default/containers/${ledgerContainer.name}`,
      }, parent);
    }
    // Identity-based AzureWebJobsStorage needs Blob Data Owner on the host account (Functions docs); it holds no ledger.
    const hostRole = new authorization.RoleAssignment(`${name}-host-role`, {
      principalId: identity.principalId, principalType: 'ServicePrincipal',
      roleDefinitionId: roleId(AZURE_ROLES.storageBlobDataOwner),
      scope: hostAccount.id,
    }, parent);

    // The postponement keys live in a Key Vault and reach the app as Key Vault references, not as plain app settings
    // (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references). RBAC authorization only (no
    // access policies), so role assignments alone decide who reads the secrets; purge protection keeps a deleted
    // vault and its secrets recoverable for the soft-delete retention.
    const vault = new keyvault.Vault(`${name}-vault`, {
      ...inRg,
      vaultName: suffix.apply((x) => keyVaultName(args.namePrefix, x)),
      properties: {
        tenantId: client.tenantId,
        sku: { family: 'A', name: 'standard' },
        enableRbacAuthorization: true,
        enableSoftDelete: true,
        softDeleteRetentionInDays: 90,
        enablePurgeProtection: true,
        // Flex Consumption resolves Key Vault references, but not from network-restricted vaults without a virtual
        // network (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#considerations); this app
        // has none, so the vault's boundary is RBAC, not the network.
        publicNetworkAccess: 'Enabled',
      },
    }, parent);
    const secret = (suffixName: string, settingName: string, value: pulumi.Input<string>) => new keyvault.Secret(`${name}-${suffixName}`, {
      resourceGroupName: rg.name,
      vaultName: vault.name,
      secretName: suffixName,
      properties: { value: pulumi.secret(value), contentType: `app setting ${settingName}` },
    }, parent);
    // Read secret values on this vault (data plane), nothing else: not the vault's settings, not other vaults.
    const vaultRole = new authorization.RoleAssignment(`${name}-vault-role`, {
      principalId: identity.principalId, principalType: 'ServicePrincipal',
      roleDefinitionId: roleId(AZURE_ROLES.keyVaultSecretsUser),
      scope: vault.id,
    }, parent);

    const plan = new web.AppServicePlan(`${name}-plan`, {
      ...inRg, name: `${base}-plan`, kind: 'functionapp', reserved: true, sku: { name: 'FC1', tier: 'FlexConsumption' },
    }, parent);

    const ledger = pulumi.all([ledgerAccount.name, ledgerContainer.name]).apply(([a, c]) => ledgerUrl(a, c));
    const appName = pulumi.interpolate`${base}-scheduler-${suffix}`;
    const postponeUrl = pulumi.interpolate`https://${appName}.azurewebsites.net/api/postpone`;
    const postponeKey = pulumi.secret(pulumi.output(args.postponeKey).apply((k) => {
      if (Buffer.byteLength(k, 'utf8') < MIN_POSTPONE_KEY_BYTES) {
        throw new Error(`passkey-campaigns:postponeKey must be at least ${MIN_POSTPONE_KEY_BYTES} bytes. Set one with: pulumi config set --secret postponeKey "$(openssl rand -base64 48)"`);
      }
      return k;
    }));
    const postponeKeySecret = secret('postpone-key', APP_SETTINGS.postponeKey, postponeKey);
    // The versioned URI: a rotation changes the app setting, and any settings change makes App Service fetch every
    // referenced secret at once; a versionless URI would be re-read only within 24 hours
    // (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#rotation). A URI is no secret.
    const reference = (s: keyvault.Secret) => pulumi.unsecret(s.properties.apply((p) => keyVaultReference(p.secretUriWithVersion)));
    const appSettings: { name: string; value: pulumi.Input<string> }[] = [
      // Identity-based host storage: no connection string, no key.
      { name: 'AzureWebJobsStorage__accountName', value: hostAccount.name },
      { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' },
      { name: 'AzureWebJobsStorage__clientId', value: identity.clientId },
      { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.connectionString },
      // The worker's heap limit, sized to the instance (contracts/scheduler.ts).
      { name: 'NODE_OPTIONS', value: FUNCTIONS_NODE_OPTIONS },
      { name: APP_SETTINGS.clientId, value: identity.clientId },
      { name: APP_SETTINGS.schedule, value: args.schedule },
      { name: APP_SETTINGS.campaigns, value: args.campaigns.join(',') },
      { name: APP_SETTINGS.campaignsDir, value: args.campaignsDir },
      { name: APP_SETTINGS.state, value: ledger },
      { name: APP_SETTINGS.graphUrl, value: args.graphUrl },
      { name: APP_SETTINGS.postponeKey, value: reference(postponeKeySecret) },
      { name: APP_SETTINGS.postponeUrl, value: postponeUrl },
    ];
    // Kept without a previous key too (then holding the current key, and no setting points at it): deleting it would
    // leave a soft-deleted name the next rotation could not reuse while purge protection holds it (90 days).
    const previousKeySecret = secret('postpone-key-previous', APP_SETTINGS.postponeKeyPrevious, args.postponeKeyPrevious ?? postponeKey);
    if (args.postponeKeyPrevious) appSettings.push({ name: APP_SETTINGS.postponeKeyPrevious, value: reference(previousKeySecret) });
    if (args.notificationSender) appSettings.push({ name: APP_SETTINGS.sender, value: args.notificationSender });
    if (args.teamsAppId) appSettings.push({ name: APP_SETTINGS.teamsAppId, value: args.teamsAppId });

    // No siteConfig at all: @pulumi/azure-native fills netFrameworkVersion "v4.6" into any siteConfig it is given
    // and Flex Consumption rejects that with 51021 (flex-consumption.ts). Runtime, scale and the package location
    // go in functionAppConfig; the app settings go in their own resource below.
    // dependsOn the storage and vault role assignments: no input references them, so the app could otherwise be
    // created and start before its identity may read the host storage, the package and the secrets (first start 403s,
    // or the keys arrive as unresolved references).
    const app = new web.WebApp(`${name}-app`, {
      ...inRg,
      name: appName,
      kind: 'functionapp,linux',
      serverFarmId: plan.id,
      httpsOnly: true,
      identity: { type: 'UserAssigned', userAssignedIdentities: [identity.id] },
      // References use the system-assigned identity (this app has none) unless keyVaultReferenceIdentity names a
      // user-assigned one (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#access-vaults-with-a-user-assigned-identity);
      // a site property, so it needs no siteConfig.
      keyVaultReferenceIdentity: identity.id,
      functionAppConfig: {
        // CI publishes the built package here (OneDeploy); the app reads it with its identity, no SAS.
        deployment: {
          storage: {
            type: 'blobContainer',
            value: pulumi.interpolate`${hostAccount.primaryEndpoints.blob}${deployContainer.name}`,
            authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identity.id },
          },
        },
        runtime: { name: 'node', version: args.nodeVersion },
        scaleAndConcurrency: { maximumInstanceCount: args.maximumInstanceCount, instanceMemoryMB: FUNCTIONS_INSTANCE_MEMORY_MB },
      },
    }, { ...parent, dependsOn: [hostRole, ledgerRole, vaultRole] });
    // PUT …/config/appsettings: the whole set, owned here; it carries no site configuration properties.
    new web.WebAppApplicationSettings(`${name}-app-settings`, {
      resourceGroupName: rg.name,
      name: app.name,
      properties: Object.fromEntries(appSettings.map((s) => [s.name, s.value])),
    }, parent);

    // Microsoft Graph application permissions; each one's reason is in GRAPH_ROLE_REASONS (graph-roles.ts).
    const graph = azuread.getServicePrincipalOutput({ clientId: MICROSOFT_GRAPH_APP_ID }, parent);
    for (const role of args.graphRoles) {
      new azuread.AppRoleAssignment(`${name}-graph-${role}`, {
        principalObjectId: identity.principalId,
        resourceObjectId: graph.objectId,
        appRoleId: graph.appRoleIds.apply((ids) => {
          const id = ids[role];
          if (!id) throw new Error(`Microsoft Graph has no app role ${role} in this tenant (needed to ${GRAPH_ROLE_REASONS[role]}).`);
          return id;
        }),
      }, parent);
    }

    this.resourceGroupName = rg.name;
    this.identityClientId = identity.clientId;
    this.identityPrincipalId = identity.principalId;
    this.ledgerUrl = ledger;
    this.functionAppName = app.name;
    this.functionAppHostName = app.defaultHostName;
    this.postponeUrl = postponeUrl;
    this.graphRoles = pulumi.output([...args.graphRoles]);
    this.keyVaultName = vault.name;
    this.registerOutputs({
      resourceGroupName: this.resourceGroupName,
      identityClientId: this.identityClientId,
      identityPrincipalId: this.identityPrincipalId,
      ledgerUrl: this.ledgerUrl,
      functionAppName: this.functionAppName,
      functionAppHostName: this.functionAppHostName,
      postponeUrl: this.postponeUrl,
      graphRoles: this.graphRoles,
      keyVaultName: this.keyVaultName,
    });
  }
}
