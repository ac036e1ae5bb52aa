// The onboarding rules of a campaign file: manager delivery is flagged as sensitive (more so for admin roles), its mail
// needs a sender on a channel other than email, and a multi-use pass in a manager's mailbox is questioned. Helpdesk
// delivery and a disabled section say nothing.
import { describe, expect, it } from 'vitest';
import { parseCampaign } from '../../src/campaign/load';
import { formatDiagnostic } from '../../src/campaign/validate';

const FILE = 'campaigns/onboarding.yaml';
const campaign = (onboarding: string, { notifications = '{ channel: teams }', targets = '{ roles: [], users: [alice@contoso.com] }' } = {}) => `apiVersion: passkeys/v1
kind: PasskeyCampaign
metadata: { name: onboarding }
spec:
  targets: ${targets}
  exclusions: { breakGlass: [b9000000-0000-4000-8000-000000000001] }
  notifications: ${notifications}
  onboarding:
    temporaryAccessPass:
${onboarding}
`;

const lines = (text: string) => {
  const r = parseCampaign(text, FILE);
  return { errors: r.errors.map(formatDiagnostic), warnings: r.warnings.map(formatDiagnostic) };
};

const SENSITIVE = 'campaigns/onboarding.yaml:11:18: warning: spec.onboarding.temporaryAccessPass.deliverTo: manager: the job creates Temporary Access Passes (sign-in credentials) and mails them to the users\' managers as Entra records them. ' +
  'Deploying this grants the scheduler identity UserAuthenticationMethod.ReadWrite.All, which can create such a pass for any user in the tenant, admins included; it is granted only while a campaign delivers passes to managers, and its use shows in the audit logs.';

describe('onboarding rules', () => {
  it.each([
    ['helpdesk delivery', '      enabled: true\n      deliverTo: helpdesk'],
    ['manager delivery switched off', '      enabled: false\n      deliverTo: manager\n      usableOnce: false'],
  ])('say nothing for %s', (_name, onboarding) => {
    expect(lines(campaign(onboarding))).toEqual({ errors: [], warnings: [] });
  });

  it('flag manager delivery as sensitive, at the deliverTo line, and ask a Teams campaign for the sender of the mail to the manager', () => {
    expect(lines(campaign('      enabled: true\n      deliverTo: manager'))).toEqual({
      errors: [],
      warnings: [
        SENSITIVE,
        'campaigns/onboarding.yaml:11:18: warning: spec.onboarding.temporaryAccessPass.deliverTo: manager: the pass is mailed to the manager even though spec.notifications.channel is teams, from the deployment\'s sender mailbox (passkey-campaigns:notificationSender); without one the stack refuses to deploy. Set spec.notifications.sender to the mailbox that should send it.',
      ],
    });
  });

  it('need no sender warning when the campaign names its sender (channel none too: the manager mail does not depend on the channel)', () => {
    expect(lines(campaign('      enabled: true\n      deliverTo: manager', { notifications: '{ channel: none, sender: passkeys@contoso.com }' })).warnings).toEqual([SENSITIVE]);
    expect(lines(campaign('      enabled: true\n      deliverTo: manager', { notifications: '{ channel: email, sender: passkeys@contoso.com }' })).warnings).toEqual([SENSITIVE]);
  });

  it('say that an administrator\'s pass carries their rights when the campaign targets admin roles', () => {
    const { warnings } = lines(campaign('      enabled: true\n      deliverTo: manager', { targets: '{}', notifications: '{ channel: email, sender: passkeys@contoso.com }' }));
    expect(warnings).toEqual([`${SENSITIVE} This campaign targets admin roles: an administrator's pass signs in with that administrator's rights, so check their managers in Entra first, or use deliverTo: helpdesk.`]);
  });

  it('question a multi-use pass mailed to a manager, at the usableOnce line', () => {
    const { warnings } = lines(campaign('      enabled: true\n      deliverTo: manager\n      lifetimeMinutes: 120\n      usableOnce: false', { notifications: '{ channel: email, sender: passkeys@contoso.com }' }));
    expect(warnings).toEqual([
      SENSITIVE,
      'campaigns/onboarding.yaml:13:19: warning: spec.onboarding.temporaryAccessPass.usableOnce: false: the pass mailed to the manager signs in as the user as often as anyone holding that mail likes, for 120 minutes. One sign-in is enough to register a passkey; set usableOnce: true.',
    ]);
  });
});
