// Role names in campaign files: the supported roles (src/contracts/roles), their older aliases, and
// template GUIDs for roles outside the supported 15.
import { SUPPORTED_ROLES, SUPPORTED_ROLE_NAMES, type SupportedRoleName } from '../contracts/roles';
export { ROLE_DISPLAY_NAMES, SUPPORTED_ROLES, SUPPORTED_ROLE_NAMES, type SupportedRoleName } from '../contracts/roles';

/** Older names Entra still shows in places; accepted and mapped to the same template. */
export const ROLE_ALIASES: Record<string, SupportedRoleName> = {
  IntuneServiceAdministrator: 'IntuneAdministrator',
  ExchangeServiceAdministrator: 'ExchangeAdministrator',
  SharePointServiceAdministrator: 'SharePointAdministrator',
  TeamsServiceAdministrator: 'TeamsAdministrator',
  CompanyAdministrator: 'GlobalAdministrator',
};

export const SUPPORTED_ROLE_TEMPLATE_IDS: readonly string[] = Object.values(SUPPORTED_ROLES);

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** Maps a role name, alias or template GUID to a template id; undefined when it is none of these. */
export function roleTemplateId(nameOrId: string): string | undefined {
  if (isGuid(nameOrId)) return nameOrId.toLowerCase();
  const key = (nameOrId in SUPPORTED_ROLES ? nameOrId : ROLE_ALIASES[nameOrId]) as SupportedRoleName | undefined;
  return key ? SUPPORTED_ROLES[key] : undefined;
}

/** The campaign-file name of a template id, or the id itself for roles outside the supported 15. */
export function roleName(templateId: string): string {
  const hit = SUPPORTED_ROLE_NAMES.find((n) => SUPPORTED_ROLES[n] === templateId.toLowerCase());
  return hit ?? templateId;
}
