// Sign-ins whose impact a test can count by hand: six members of the enforcement group, one outsider, one
// campaign policy and one unrelated policy. Graph-shaped (DESIGN §10 `signIns`), so the CLI test serves the same
// objects from the emulator.
import type { GraphSignIn } from '../../src/impact/signins';

export const NOW = '2026-12-01T06:00:00.000Z';
export const POLICY_ID = '5e000000-0000-4000-8000-0000000000aa';
export const OTHER_POLICY_ID = '5e000000-0000-4000-8000-0000000000bb';

export const M = {
  /** Two passkey sign-ins. */
  amy: '00000000-0000-4000-8000-00000000e0a1',
  /** A passkey sign-in in the browser, and mail on an Exchange ActiveSync phone the policy would block. */
  ben: '00000000-0000-4000-8000-00000000e0a2',
  /** Interrupted once, then a passkey sign-in. */
  cid: '00000000-0000-4000-8000-00000000e0a3',
  /** A password sign-in to Teams on the desktop client that the policy would block, twice. */
  dee: '00000000-0000-4000-8000-00000000e0a4',
  /** Only sign-ins the policy does not apply to. */
  eve: '00000000-0000-4000-8000-00000000e0a5',
  /** No sign-in at all. */
  fay: '00000000-0000-4000-8000-00000000e0a6',
} as const;
/** Not a member: their would-block sign-in does not count. */
export const OUTSIDER = '00000000-0000-4000-8000-00000000e0f1';

export const upn = (id: string) => `${Object.entries(M).find(([, v]) => v === id)?.[0] ?? 'outsider'}@contoso.com`;

let n = 0;
function signIn(userId: string, daysAgo: number, result: string | null, over: Partial<GraphSignIn> = {}): GraphSignIn {
  n++;
  return {
    id: `5100000${String(n).padStart(2, '0')}-0000-4000-8000-000000000000`,
    createdDateTime: new Date(Date.parse(NOW) - daysAgo * 86_400_000).toISOString(),
    userId,
    userPrincipalName: upn(userId),
    appDisplayName: 'My Apps',
    clientAppUsed: 'Browser',
    appliedConditionalAccessPolicies: [
      ...(result ? [{ id: POLICY_ID, displayName: 'passkey-campaign-admins-passkeys-policy', result }] : []),
      { id: OTHER_POLICY_ID, displayName: 'Block legacy authentication', result: 'reportOnlyFailure' },
    ],
    authenticationDetails: [{ authenticationMethod: result === 'reportOnlySuccess' ? 'Passkey (device-bound)' : 'Password', succeeded: true }],
    ...over,
  };
}

/** Newest first, as Graph pages them. */
export function knownSignIns(): GraphSignIn[] {
  n = 0;
  const list = [
    signIn(M.amy, 1, 'reportOnlySuccess'),
    signIn(M.amy, 5, 'reportOnlySuccess', { appDisplayName: 'Office 365 SharePoint Online' }),
    signIn(M.ben, 2, 'reportOnlySuccess'),
    signIn(M.ben, 3, 'reportOnlyFailure', { appDisplayName: 'Office 365 Exchange Online', clientAppUsed: 'Exchange ActiveSync' }),
    signIn(M.cid, 4, 'reportOnlyInterrupted'),
    signIn(M.cid, 4, 'reportOnlySuccess'),
    signIn(M.dee, 6, 'reportOnlyFailure', { appDisplayName: 'Microsoft Teams', clientAppUsed: 'Mobile Apps and Desktop clients' }),
    signIn(M.dee, 9, 'reportOnlyFailure', { appDisplayName: 'Microsoft Teams', clientAppUsed: 'Mobile Apps and Desktop clients' }),
    signIn(M.eve, 7, 'reportOnlyNotApplied'),
    signIn(M.eve, 8, null),
    signIn(OUTSIDER, 2, 'reportOnlyFailure', { appDisplayName: 'Azure Portal' }),
  ];
  return list.sort((a, b) => b.createdDateTime.localeCompare(a.createdDateTime));
}

/** What the sign-ins above must give, counted by hand. */
export const EXPECTED_USERS = { observed: 4, satisfied: 2, interrupted: 1, wouldBlock: 2, noPasskeySignIn: 3 };
