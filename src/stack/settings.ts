// Stack settings: parsing and checks, separate from pulumi.Config so they can be tested directly.

/** NCRONTAB as Azure Functions reads it: six fields, seconds first. Default: daily 06:00 UTC. */
export const DEFAULT_SCHEDULE = '0 0 6 * * *';

/** Accepts a six-field NCRONTAB or a classic five-field CRON (seconds 0 are added). */
export function normalizeSchedule(value: string): string {
  const fields = value.trim().split(/\s+/);
  if (fields.length === 5) fields.unshift('0');
  if (fields.length !== 6 || fields.some((f) => !/^[0-9*/,\-A-Za-z]+$/.test(f))) {
    throw new Error(`passkey-campaigns:schedule: "${value}" is not a CRON expression. Use six NCRONTAB fields (sec min hour day month weekday), e.g. "${DEFAULT_SCHEDULE}" for daily 06:00 UTC.`);
  }
  return fields.join(' ');
}

export const NAME_PREFIX = /^[a-z][a-z0-9-]{1,14}[a-z0-9]$/;

export function checkNamePrefix(value: string): string {
  if (!NAME_PREFIX.test(value)) {
    throw new Error(`passkey-campaigns:namePrefix: "${value}" must be 3–16 characters of a-z, 0-9 and "-", starting with a letter; it prefixes Azure resource names.`);
  }
  return value;
}

const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An optional Entra object id (a service principal's), e.g. passkey-campaigns:auditReaderPrincipalId. */
export function checkPrincipalId(key: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!OBJECT_ID.test(value)) {
    throw new Error(`passkey-campaigns:${key}: "${value}" is not an object id. Use the object id of the identity's service principal (Enterprise applications → Object ID, or: az ad sp show --id <client id> --query id -o tsv), not its client id or name.`);
  }
  return value.toLowerCase();
}

export function checkPreviouslyStarted(value: unknown): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new Error('passkey-campaigns:previouslyStarted: must be a list of campaign names, e.g. [admins-passkeys].');
  }
  return value as string[];
}
