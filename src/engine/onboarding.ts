// Onboarding with a Temporary Access Pass: who cannot register a passkey on their own. Pure: reads the observation
// and the folded state, never Graph.
import type { UserState } from './state';
import type { ObservedUser } from './types';

/**
 * `userRegistrationDetails.methodsRegistered` values that can satisfy multifactor authentication, so a user who
 * has one can sign in strongly and register a passkey without help (compared case-insensitively). Not here:
 * `email` and `securityQuestion` (self-service password reset only), `temporaryAccessPass` (temporary: it does not
 * let the user sign in strongly once it expires).
 */
export const MFA_CAPABLE_METHODS: readonly string[] = [
  'mobilePhone',
  'alternateMobilePhone',
  'officePhone',
  'sms',
  'microsoftAuthenticatorPush',
  'microsoftAuthenticatorPasswordless',
  'softwareOneTimePasscode',
  'hardwareOneTimePasscode',
  'windowsHelloForBusiness',
  'fido2SecurityKey',
  'passKeyDeviceBound',
  'passKeyDeviceBoundAuthenticator',
  'passKeyDeviceBoundWindowsHello',
  'passKeySynced',
  'macOsSecureEnclaveKey',
  'externalAuthMethod',
  'x509CertificateMultiFactor',
];
const MFA_CAPABLE_LOWER = new Set(MFA_CAPABLE_METHODS.map((m) => m.toLowerCase()));

/** The user has a registered method that can satisfy MFA (so they can register a passkey on their own). */
export function hasMfaCapableMethod(ou: ObservedUser): boolean {
  return ou.methodsRegistered.some((m) => MFA_CAPABLE_LOWER.has(m.toLowerCase()));
}

/**
 * A user who needs an onboarding pass: in the campaign at passkeyRegistration, enabled, in the FIDO2 policy's
 * scope (known, not assumed), read without errors, and with no registered method that can satisfy MFA (nor a
 * fido2 method). Break-glass and excluded accounts are never in the observation's users (observe leaves them out),
 * and a user without campaign state is not in the campaign: both give false.
 */
export function needsOnboardingPass(ou: ObservedUser, u: UserState | undefined): boolean {
  if (!u || u.stage !== 'passkeyRegistration' || u.left !== null) return false;
  if (!ou.accountEnabled || ou.inFido2PolicyScope !== true || ou.readErrors.length > 0) return false;
  if (ou.fido2Methods !== null && ou.fido2Methods.length > 0) return false;
  return !hasMfaCapableMethod(ou);
}
