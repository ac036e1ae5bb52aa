// The warnings a run prints (`warnings` of reconcile/plan --json and the text output): grouped by code, so
// 20,000 failed notices are one line, not 20,000. Up to MAX_LISTED warnings of a code print as they are;
// more print as one line "<N> <summary>: e.g. <the first MAX_LISTED>". The per-user detail stays where it is
// kept anyway: each notification and group-add outcome in the ledger (campaign history --user UPN), each
// held user's read errors in the observation snapshot (campaign status).
import type { RunWarning, WarningCode } from '../engine/warnings';

/** More warnings of one code than this are summed up in one line. */
export const MAX_LISTED = 3;

/** What N warnings of a code amount to, worded for "<N> <summary>: e.g. …". */
const SUMMARY: Partial<Record<WarningCode, (n: number) => string>> = {
  NotificationFailed: (n) => `${n} notifications were not delivered and are recorded as failed (campaign history --user UPN shows each)`,
  NotificationRefused: (n) => `${n} notifications were refused by Graph and not executed; the next run sends them`,
  NotificationInDoubt: (n) => `${n} notifications got no answer and are recorded as in doubt (campaign history --user UPN shows each)`,
  NoMailbox: (n) => `${n} users have no mailbox, so their email notifications were not sent and are recorded as failed (mail never goes to a UPN)`,
  SentItemsLookUpFailed: (n) => `${n} emails of an interrupted run could not be looked up in the sender's Sent Items; they stay open and are checked again next run`,
  GroupAddFailed: (n) => `${n} users could not be added to the enforcement group; they stay in the enforcement notice and are retried next run`,
  RolledBack: (n) => `${n} users added to the enforcement group by an interrupted run were no longer due for enforcement; the adds were undone`,
  RollBackFailed: (n) => `${n} users left in the enforcement group by an interrupted run could not be removed; tried again next run`,
  GraduatedSignInFailures: (n) => `${n} graduated users had sign-ins blocked by the enabled policy; none was removed from any group (the run output's graduation.signInFailures lists each)`,
  TargetUserMissing: (n) => `${n} target users do not exist in the tenant`,
  TargetGroupMissing: (n) => `${n} target groups do not exist; nobody is targeted through them`,
  ReadErrors: (n) => `${n} users made no move this run because a Graph read failed for them (campaign status lists them as unread)`,
  PasskeyUnverifiable: (n) => `${n} users made no move this run: the FIDO2 policy restricts AAGUIDs but their fido2Methods were not read`,
};

/** The one line for many warnings of a code; a code without its own wording still reads as a count. */
function summaryOf(code: WarningCode, group: readonly RunWarning[]): string {
  const head = SUMMARY[code]?.(group.length) ?? `${group.length} warnings ${code}`;
  const shown = group.slice(0, MAX_LISTED);
  // Subjects are short (a UPN); whole sentences need a stronger separator.
  const bySubject = shown.every((w) => w.subject !== undefined);
  return `${head}: e.g. ${shown.map((w) => w.subject ?? w.message.replace(/\.$/, '')).join(bySubject ? ', ' : '; ')}`;
}

/** The run's warnings as printed: in order of each code's first warning, a code's few kept as they are. */
export function printedWarnings(warnings: readonly RunWarning[]): string[] {
  const byCode = new Map<WarningCode, RunWarning[]>();
  for (const w of warnings) {
    const group = byCode.get(w.code);
    if (group) group.push(w);
    else byCode.set(w.code, [w]);
  }
  const out: string[] = [];
  for (const [code, group] of byCode) {
    if (group.length <= MAX_LISTED) for (const w of group) out.push(w.message);
    else out.push(summaryOf(code, group));
  }
  return out;
}
