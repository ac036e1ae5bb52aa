// What the Pulumi program (src/stack, CampaignScheduler) and the Azure Functions app (src/apps/functions)
// must agree on: the app setting names the stack sets and the app reads, the ledger URL form, the
// postponement key length, and the app's runtime interface. Pure, so neither side imports the other.

export const APP_SETTINGS = {
  /** NCRONTAB of the timer trigger; function.json-free bindings read it as %RECONCILE_SCHEDULE%. */
  schedule: 'RECONCILE_SCHEDULE',
  /** Comma-separated names of the in-progress campaigns the timer reconciles. */
  campaigns: 'CAMPAIGN_NAMES',
  /** Directory of campaign files inside the deployed package. */
  campaignsDir: 'CAMPAIGNS_DIR',
  /** Ledger location: azblob://<account>/<container> (the CLI's --state / CAMPAIGN_STATE). */
  state: 'CAMPAIGN_STATE',
  /** Microsoft Graph base URL (the CLI's --graph-url / CAMPAIGN_GRAPH_URL). */
  graphUrl: 'CAMPAIGN_GRAPH_URL',
  /** Default sender mailbox of email notifications. */
  sender: 'CAMPAIGN_NOTIFICATION_SENDER',
  /** Teams app id for activity feed notifications. */
  teamsAppId: 'CAMPAIGN_TEAMS_APP_ID',
  /** HMAC key of postponement links (secret). */
  postponeKey: 'CAMPAIGN_POSTPONE_KEY',
  /** The key before the last rotation (secret, optional): links signed with it keep working until they expire. */
  postponeKeyPrevious: 'CAMPAIGN_POSTPONE_KEY_PREVIOUS',
  /** Public URL of the postponement endpoint, used to build the links in notifications. */
  postponeUrl: 'CAMPAIGN_POSTPONE_URL',
  /** Client id of the user-assigned identity, so DefaultAzureCredential picks it. */
  clientId: 'AZURE_CLIENT_ID',
} as const;

/**
 * App settings that hold secrets. The stack sets them as Key Vault references, the policy pack rejects a plain
 * value, and the app refuses a reference App Service could not resolve.
 */
export const SECRET_APP_SETTINGS: readonly string[] = [APP_SETTINGS.postponeKey, APP_SETTINGS.postponeKeyPrevious];

/** How every Key Vault reference starts; App Service passes an unresolved one through as this literal text. */
export const KEY_VAULT_REFERENCE_PREFIX = '@Microsoft.KeyVault(';

/** App setting value that makes App Service read a Key Vault secret (versioned or not) with the app's identity. */
export function keyVaultReference(secretUri: string): string {
  return `${KEY_VAULT_REFERENCE_PREFIX}SecretUri=${secretUri})`;
}

/**
 * Whether a value is a well-formed Key Vault reference, in either documented form: SecretUri=<https URI of a
 * secret> or VaultName=…;SecretName=…[;SecretVersion=…]
 * (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#reference-syntax).
 */
export function isKeyVaultReference(value: string): boolean {
  return /^@Microsoft\.KeyVault\((SecretUri=https:\/\/[a-z0-9-]+\.vault\.[a-z0-9.-]+\/secrets\/[A-Za-z0-9-]+(\/[A-Za-z0-9]*)?|VaultName=[A-Za-z0-9-]+;SecretName=[A-Za-z0-9-]+(;SecretVersion=[A-Za-z0-9]+)?)\)$/i.test(value);
}

/** azblob://<account>/<container>: the ledger location the blob store understands. */
export function ledgerUrl(account: string, container: string): string {
  return `azblob://${account}/${container}`;
}

/** Minimum postponement key length in bytes (256 bits, the HMAC-SHA256 output size). */
export const MIN_POSTPONE_KEY_BYTES = 32;

export interface SchedulerSettings {
  campaigns: string[];
  campaignsDir: string;
  state: string;
  graphUrl: string;
  sender?: string;
  teamsAppId?: string;
  postponeKey: string;
  /** Also accepted when verifying links (not for signing): the key before the last rotation. */
  postponeKeyPrevious?: string;
  postponeUrl?: string;
}

/**
 * How long the scheduled reconcile waits for its campaign's lock. A postponement holds it for one ledger read
 * and one append; a reconcile left running or crashed holds it far longer, and that is worth a failed run.
 */
export const SCHEDULED_LOCK_WAIT_MS = 60_000;

/** How long a postponement click waits for the lock (a running reconcile) before it asks the user to retry. */
export const POSTPONE_LOCK_WAIT_MS = 10_000;

/** Postponement requests (POST) per client address per minute, per Functions instance. */
export const POSTPONE_RATE_PER_MINUTE = 10;

export interface SchedulerLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface ScheduledCampaignResult {
  campaign: string;
  ok: boolean;
  /** The `reconcile --json` summary when ok; the error sentence otherwise. */
  summary?: Record<string, unknown>;
  error?: string;
}

export interface PostponeLinkResult {
  ok: boolean;
  /** One sentence for the user: the new deadline, or why the link no longer works. */
  message: string;
  /** Reason constant, e.g. Postponed, expired, replayed, wrongStage. */
  reason: string;
}

export interface SchedulerRuntime {
  /** Runs `campaign reconcile` for each named campaign (same code path), one after the other. */
  runScheduledReconcile(input: { settings: SchedulerSettings; now: Date; log: SchedulerLog }): Promise<ScheduledCampaignResult[]>;
  /** Verifies a signed postponement link and records the postponement in the ledger. */
  applyPostponeLink(input: { token: string; settings: SchedulerSettings; now: Date; log: SchedulerLog }): Promise<PostponeLinkResult>;
}

/** The Flex Consumption instance size the program asks for (functionAppConfig.scaleAndConcurrency.instanceMemoryMB). */
export const FUNCTIONS_INSTANCE_MEMORY_MB = 2048;

/**
 * V8's old-generation limit for the Functions worker, in MiB. The stack sets it through NODE_OPTIONS (Node.js reads
 * --max-old-space-size from it in every process it starts); the scale benchmark runs reconcile with it. Without it
 * V8 sizes its heap from the memory it sees, which need not be the instance's: a large run could grow past the
 * instance and be killed, or collect late and hold far more than it uses. V8 lets the heap grow towards its limit
 * before it collects, and the process holds up to a few hundred MiB beside it (young generation, code, I/O buffers),
 * so the limit sets the peak: 1,024 MiB keeps a 1,000,000-user run at about 1.2 GiB, leaving room in the 2,048 MB
 * instance for the Functions host, while such a run holds at most about 800 MiB of live data (the scale benchmark
 * measures both).
 */
export const FUNCTIONS_HEAP_LIMIT_MB = 1024;
export const FUNCTIONS_NODE_OPTIONS = `--max-old-space-size=${FUNCTIONS_HEAP_LIMIT_MB}`;
