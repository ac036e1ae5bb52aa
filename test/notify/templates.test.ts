import { describe, expect, it } from 'vitest';
import { notificationRequest } from '../../src/notify/channels';
import { renderManagerPassMail, renderNotification, type TemplateInput } from '../../src/notify/templates';

const base: TemplateInput = {
  kind: 'passkeyRegistration',
  displayName: 'Alex Wilber',
  campaignDescription: 'Passkeys for privileged admins',
  registrationUrl: 'https://aka.ms/mysecurityinfo',
  deadline: '2026-12-15',
  owners: ['identity-team@contoso.com'],
};

describe('notification templates', () => {
  it('asks for a passkey with the registration URL and the deadline', () => {
    const n = renderNotification(base);
    expect(n.title).toBe('Register a passkey for your account');
    expect(n.text).toBe([
      'Hello Alex Wilber,',
      '',
      'Your organisation is moving your account to passkeys, a phishing-resistant way to sign in.',
      "Register one (Microsoft Authenticator, Windows Hello, a security key or your phone's passkey) at https://aka.ms/mysecurityinfo.",
      'Please do it by Tuesday 15 December 2026.',
      '(Passkeys for privileged admins)',
    ].join('\n'));
    expect(n.html).toContain('<a href="https://aka.ms/mysecurityinfo">https://aka.ms/mysecurityinfo</a>');
  });

  it('lists the devices to update with their versions and minimums', () => {
    const n = renderNotification({ ...base, kind: 'deviceUpdateReminder', devices: [{ displayName: 'ALEX-PHONE', platform: 'iOS', version: '16.7', minimum: '17.0' }] });
    expect(n.title).toBe('Reminder: update your device to use a passkey');
    expect(n.text).toContain('  • ALEX-PHONE (iOS 16.7; needs 17.0 or later)');
  });

  it('names the enforcement day in the notice and offers the postponement link', () => {
    const n = renderNotification({ ...base, kind: 'enforcementNotice', deadline: '2026-12-08', postponeUrl: 'https://func.example/postpone?token=abc' });
    expect(n.text).toContain('From Tuesday 8 December 2026, signing in to your account will require phishing-resistant authentication such as your passkey.');
    expect(n.text).toContain('Need more time? Postpone once: https://func.example/postpone?token=abc');
  });

  it('offers no postponement once the user is enforced', () => {
    const n = renderNotification({ ...base, kind: 'enforced', deadline: null, postponeUrl: 'https://x.example/p' });
    expect(n.text).not.toContain('Postpone');
    expect(n.text).toContain('contact identity-team@contoso.com');
  });

  it('escapes HTML in names', () => {
    expect(renderNotification({ ...base, displayName: '<b>Eve</b>' }).html).toContain('Hello &lt;b&gt;Eve&lt;/b&gt;,');
  });
});

describe('notification channels', () => {
  const n = renderNotification(base);
  const to = { userId: 'u1', userPrincipalName: 'admin-alex@contoso.onmicrosoft.com', mail: 'alex@contoso.com' };

  it('sends a Teams activity notification to the user', () => {
    const r = notificationRequest({ channel: 'teams', teamsAppId: 'app-1' }, to, n, 'c:u1:passkeyRegistration:1', '0');
    expect(r?.method).toBe('POST');
    expect(r?.url).toBe('/users/u1/teamwork/sendActivityNotification');
    expect(r?.body).toMatchObject({ activityType: 'passkeyCampaign', previewText: { content: n.title }, topic: { source: 'text', value: n.title } });
  });

  it('sends mail from the sender mailbox to the user, tagged with the idempotency key', () => {
    const r = notificationRequest({ channel: 'email', sender: 'passkeys@contoso.com' }, to, n, 'c:u1:passkeyRegistration:1', '0');
    expect(r?.url).toBe('/users/passkeys%40contoso.com/sendMail');
    expect(r?.body).toMatchObject({
      message: { subject: n.title, toRecipients: [{ emailAddress: { address: 'alex@contoso.com' } }], internetMessageHeaders: [{ name: 'X-Passkey-Campaign-Key', value: 'c:u1:passkeyRegistration:1' }] },
    });
  });

  it('never mails a user without a mailbox, not even at the UPN', () => {
    expect(notificationRequest({ channel: 'email', sender: 'passkeys@contoso.com' }, { ...to, mail: null }, n, 'k', '0')).toBeNull();
  });

  it('sends nothing on the none channel', () => {
    expect(notificationRequest({ channel: 'none' }, to, n, 'k', '0')).toBeNull();
  });
});

describe('renderManagerPassMail', () => {
  const input = {
    managerDisplayName: 'Grace Hopper', userDisplayName: 'Ada Lovelace', userPrincipalName: 'ada@contoso.com', pass: 'ab&<c9+#',
    startDateTime: '2026-12-01T06:01:00.000Z', expiresAt: '2026-12-01T14:01:00.000Z', usableOnce: true,
    registrationUrl: 'https://aka.ms/mysecurityinfo', owners: ['identity-team@contoso.com'],
  };
  it('says who, why, how long it is valid, the registration link and the pass (escaped in HTML)', () => {
    const m = renderManagerPassMail(input);
    expect(m.title).toBe('A one-time sign-in code for Ada Lovelace to set up a passkey');
    expect(m.text).toContain('Hello Grace Hopper,');
    expect(m.text).toContain('Ada Lovelace (ada@contoso.com) needs to register a passkey');
    expect(m.text).toContain('Here is a Temporary Access Pass for them: ab&<c9+#');
    expect(m.text).toContain('It works from Tuesday 1 December 2026 at 06:01 UTC until Tuesday 1 December 2026 at 14:01 UTC, for one sign-in only.');
    expect(m.text).toContain('https://aka.ms/mysecurityinfo');
    expect(m.text).toMatch(/Do not forward this mail/);
    expect(m.html).toContain('ab&amp;&lt;c9+#');
    expect(m.html).not.toContain('ab&<c9');
    expect(m.html).toContain('<a href="https://aka.ms/mysecurityinfo">');
  });
  it('keeps the pass out of the subject (a subject shows in previews and notifications)', () => {
    expect(renderManagerPassMail(input).title).not.toContain(input.pass);
    expect(renderManagerPassMail({ ...input, usableOnce: false }).text).not.toContain('one sign-in only');
  });
});
