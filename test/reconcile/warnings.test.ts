// How a run prints its warnings: per code, more than 3 of one code summed up in one line.
import { describe, expect, it } from 'vitest';
import { warning, type RunWarning } from '../../src/engine/warnings';
import { MAX_LISTED, printedWarnings } from '../../src/reconcile/warnings';

const failed = (i: number) => warning('NotificationFailed', `notification k${i} to u${i}@contoso.com was not delivered (403 Forbidden); recorded as failed.`, `u${i}@contoso.com (403 Forbidden)`);
const many = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i + 1));

describe('printedWarnings', () => {
  it.each<{ name: string; warnings: RunWarning[]; want: string[] }>([
    { name: 'no warnings print nothing', warnings: [], want: [] },
    {
      name: `up to ${MAX_LISTED} of a code print as they are`,
      warnings: many(3, failed),
      want: many(3, (i) => `notification k${i} to u${i}@contoso.com was not delivered (403 Forbidden); recorded as failed.`),
    },
    {
      name: `more than ${MAX_LISTED} of a code print as one line with the count and the first ${MAX_LISTED} subjects`,
      warnings: many(20_000, failed),
      want: ['20000 notifications were not delivered and are recorded as failed (campaign history --user UPN shows each): e.g. u1@contoso.com (403 Forbidden), u2@contoso.com (403 Forbidden), u3@contoso.com (403 Forbidden)'],
    },
    {
      name: 'codes print in the order of their first warning, each on its own terms',
      warnings: [
        warning('DisabledAccountsSkipped', '1 targeted account is disabled and skipped.'),
        ...many(4, (i) => warning('ReadErrors', `u${i}@contoso.com: no move this run: 1 Graph read failed for this user (x)`, `u${i}@contoso.com`)),
        warning('EnforcementDeferred', '2 users ready for enforcement wait for the next run: spec.enforcement.maxNewPerRun is 3.'),
        failed(1),
      ],
      want: [
        '1 targeted account is disabled and skipped.',
        '4 users made no move this run because a Graph read failed for them (campaign status lists them as unread): e.g. u1@contoso.com, u2@contoso.com, u3@contoso.com',
        '2 users ready for enforcement wait for the next run: spec.enforcement.maxNewPerRun is 3.',
        'notification k1 to u1@contoso.com was not delivered (403 Forbidden); recorded as failed.',
      ],
    },
    {
      name: 'warnings without a subject give their sentences as examples',
      warnings: many(5, (i) => warning('TargetUserMissing', `target user t${i}@contoso.com does not exist in the tenant.`)),
      want: ['5 target users do not exist in the tenant: e.g. target user t1@contoso.com does not exist in the tenant; target user t2@contoso.com does not exist in the tenant; target user t3@contoso.com does not exist in the tenant'],
    },
    {
      name: 'a code without its own wording still reads as a count',
      warnings: many(4, (i) => warning('LedgerRecovered', `w${i}`)),
      want: ['4 warnings LedgerRecovered: e.g. w1; w2; w3'],
    },
  ])('$name', ({ warnings, want }) => {
    expect(printedWarnings(warnings)).toEqual(want);
  });
});
