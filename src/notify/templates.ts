// What users read. One template per notification kind; plain sentences, the action first,
// the date it is due, and the postponement link when the campaign allows it.
import type { NotificationKind } from '../contracts/vocabulary';

export interface DeviceToUpdate {
  displayName: string;
  platform: string;
  version: string;
  minimum: string;
}

export interface TemplateInput {
  kind: NotificationKind;
  displayName: string;
  campaignDescription: string;
  registrationUrl: string;
  /** YYYY-MM-DD: grace deadline or enforcement day. */
  deadline: string | null;
  devices?: DeviceToUpdate[];
  /** Absolute postponement URL, when postponement is enabled and a link service is configured. */
  postponeUrl?: string;
  owners: string[];
}

export interface RenderedNotification {
  /** Short line: Teams preview text, mail subject. */
  title: string;
  /** Plain-text body. */
  text: string;
  /** HTML body for mail. */
  html: string;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "Tuesday 15 December 2026": spelled out so no reader mistakes day and month; no locale data involved. */
export function formatDate(day: string | null): string {
  if (!day) return '';
  const d = new Date(`${day.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return day;
  return `${WEEKDAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

export function renderNotification(input: TemplateInput): RenderedNotification {
  const due = formatDate(input.deadline);
  const lines: string[] = [];
  let title: string;
  const reminder = input.kind.endsWith('Reminder');
  switch (input.kind) {
    case 'deviceUpdate':
    case 'deviceUpdateReminder': {
      title = `${reminder ? 'Reminder: update' : 'Update'} your device${(input.devices?.length ?? 0) > 1 ? 's' : ''} to use a passkey`;
      lines.push(`Your organisation is moving your account to passkeys, a phishing-resistant way to sign in.`);
      lines.push(`These devices need a newer operating system first:`);
      for (const d of input.devices ?? []) lines.push(`  • ${d.displayName} (${d.platform} ${d.version}; needs ${d.minimum} or later)`);
      if (due) lines.push(`Please update them by ${due}.`);
      break;
    }
    case 'passkeyRegistration':
    case 'passkeyRegistrationReminder':
      title = reminder ? 'Reminder: register a passkey for your account' : 'Register a passkey for your account';
      lines.push(`Your organisation is moving your account to passkeys, a phishing-resistant way to sign in.`);
      lines.push(`Register one (Microsoft Authenticator, Windows Hello, a security key or your phone's passkey) at ${input.registrationUrl}.`);
      if (due) lines.push(`Please do it by ${due}.`);
      break;
    case 'enforcementNotice':
    case 'enforcementNoticeReminder':
      title = 'Passkey sign-in will be required for your account';
      lines.push(`Thank you for registering a passkey.`);
      if (due) lines.push(`From ${due}, signing in to your account will require phishing-resistant authentication such as your passkey.`);
      lines.push(`Keep your passkey device with you; manage your methods at ${input.registrationUrl}.`);
      break;
    case 'enforced':
      title = 'Your account now requires passkey sign-in';
      lines.push(`Signing in to your account now requires phishing-resistant authentication such as your passkey.`);
      lines.push(`If you lose your passkey device, contact ${input.owners[0] ?? 'your help desk'} or register a new one at ${input.registrationUrl}.`);
      break;
  }
  if (input.postponeUrl && input.kind !== 'enforced') lines.push(`Need more time? Postpone once: ${input.postponeUrl}`);
  if (input.campaignDescription) lines.push(`(${input.campaignDescription})`);
  const greeting = `Hello ${input.displayName},`;
  const text = [greeting, '', ...lines].join('\n');
  const html = `<p>${escapeHtml(greeting)}</p>\n${lines.map((l) => `<p>${escapeHtml(l).replace(/(https:\/\/[^\s<]+?)([.,;)]?)(?=\s|<|$)/g, '<a href="$1">$1</a>$2')}</p>`).join('\n')}`;
  return { title, text, html };
}

/** The mail that gives a manager a Temporary Access Pass for someone on their team. */
export interface ManagerPassInput {
  managerDisplayName: string;
  userDisplayName: string;
  userPrincipalName: string;
  /** The pass: a secret. It appears in this mail only; nothing else the job writes may carry it. */
  pass: string;
  /** ISO: when the pass becomes usable and when it stops working. */
  startDateTime: string;
  expiresAt: string;
  usableOnce: boolean;
  registrationUrl: string;
  owners: string[];
}

/** "Tuesday 15 December 2026 at 14:05 UTC". */
function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${formatDate(iso)} at ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
}

/**
 * Who the pass is for, why, how long it is valid, what to do with it and the registration link. The manager hands
 * it to the person directly (in person or on a call where they recognise them), never by forwarding this mail.
 */
export function renderManagerPassMail(input: ManagerPassInput): RenderedNotification {
  const title = `A one-time sign-in code for ${input.userDisplayName} to set up a passkey`;
  const lines = [
    `${input.userDisplayName} (${input.userPrincipalName}) needs to register a passkey, a phishing-resistant way to sign in, but has no sign-in method that lets them do it on their own.`,
    `Here is a Temporary Access Pass for them: ${input.pass}`,
    `It works from ${formatDateTime(input.startDateTime)} until ${formatDateTime(input.expiresAt)}${input.usableOnce ? ', for one sign-in only' : ''}.`,
    `Please give it to ${input.userDisplayName} yourself, in person or on a call where you recognise them. Do not forward this mail or send the pass by chat or email: anyone who has it can sign in as them.`,
    `With it, they sign in at ${input.registrationUrl} and register a passkey (Microsoft Authenticator, Windows Hello, a security key or their phone's passkey).`,
    `If you did not expect this or cannot reach them, delete this mail and tell ${input.owners[0] ?? 'your help desk'}.`,
  ];
  const greeting = `Hello ${input.managerDisplayName},`;
  const text = [greeting, '', ...lines].join('\n');
  const html = `<p>${escapeHtml(greeting)}</p>\n${lines.map((l) => `<p>${escapeHtml(l).replace(/(https:\/\/[^\s<]+?)([.,;)]?)(?=\s|<|$)/g, '<a href="$1">$1</a>$2')}</p>`).join('\n')}`;
  return { title, text, html };
}
