// Every stack configuration value, read once, typed. Keys live in the project's namespace
// (passkey-campaigns:<key>) in stacks/Pulumi.<stack>.yaml; docs/platform-engineer.md lists them all.
import * as pulumi from '@pulumi/pulumi';
import { DEFAULT_SCHEDULE, checkNamePrefix, checkPreviouslyStarted, checkPrincipalId, normalizeSchedule } from './settings';

const config = new pulumi.Config();

/** Directory holding the campaign YAML files, relative to the project root. */
export const campaignsDir: string = config.get('campaignsDir') ?? 'campaigns';

/** notStarted campaigns that ran before (reset from ended): their group and policy are kept. */
export const previouslyStarted: string[] = checkPreviouslyStarted(config.getObject<unknown>('previouslyStarted') ?? []);

/** Prefix of every Azure resource name (resource group, storage, function app). */
export const namePrefix: string = checkNamePrefix(config.get('namePrefix') ?? 'passkeys');

/** Azure region of the scheduler's resources. */
export const location: string = config.get('location') ?? 'westeurope';

/** Mailbox (UPN) that sends email notifications unless a campaign names its own sender. */
export const notificationSender: string | undefined = config.get('notificationSender');

/** Teams app id whose activity feed carries Teams notifications. */
export const teamsAppId: string | undefined = config.get('teamsAppId');

/** When the reconcile job runs (NCRONTAB, UTC). */
export const schedule: string = normalizeSchedule(config.get('schedule') ?? DEFAULT_SCHEDULE);

/** Microsoft Graph base URL the job talks to. */
export const graphUrl: string = config.get('graphUrl') ?? 'https://graph.microsoft.com';

/** HMAC key (≥ 32 bytes) that signs postponement links; a secret. */
export const postponeKey: pulumi.Output<string> = config.requireSecret('postponeKey');

/** The key before the last rotation; links signed with it keep working until they expire. A secret. */
export const postponeKeyPrevious: pulumi.Output<string> | undefined = config.getSecret('postponeKeyPrevious');

/** Grant GroupMember.ReadWrite.All: only if owning the enforcement group is not enough in this tenant. */
export const groupMemberWrite: boolean = config.getBoolean('groupMemberWrite') ?? false;

/** Replication of the storage accounts (Standard_LRS, Standard_ZRS, …). */
export const storageSku: string = config.get('storageSku') ?? 'Standard_LRS';

/** Upper bound of Function App instances (Flex Consumption). */
export const maximumInstanceCount: number = config.getNumber('maximumInstanceCount') ?? 40;

/** Days Log Analytics keeps the job's logs. */
export const logRetentionDays: number = config.getNumber('logRetentionDays') ?? 30;

/**
 * Object id of the audit identity's service principal (the daily audit workflow's): it gets Storage Blob Data Reader
 * on the ledger container, nothing else. Unset: no audit reader.
 */
export const auditReaderPrincipalId: string | undefined = checkPrincipalId('auditReaderPrincipalId', config.get('auditReaderPrincipalId'));
