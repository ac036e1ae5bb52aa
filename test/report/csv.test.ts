import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/ledger/events';
import { csvCell, CSV_HEADER, renderCsv } from '../../src/report/csv';
import { buildReport } from '../../src/report/model';
import { campaign, day, observation, OLD_IPHONE, user } from '../engine/fixtures';

// Two users of a running campaign: Ada past her device-update grace period, Bob registering a passkey.
const ada = { userId: 'u-ada', userPrincipalName: 'ada@contoso.com' };
const bob = { userId: 'u-bob', userPrincipalName: 'bob@contoso.com' };
const events: LedgerEvent[] = [
  { v: 1, type: 'runStarted', at: day(0), runId: 'r0', campaign: 'admins-passkeys', status: 'inProgress' },
  { v: 1, type: 'userEnteredStage', at: day(0), runId: 'r0', ...ada, from: null, to: 'deviceUpdate', reason: 'R', message: 'R' },
  { v: 1, type: 'userEnteredStage', at: day(0), runId: 'r0', ...bob, from: null, to: 'passkeyRegistration', reason: 'R', message: 'R' },
  { v: 1, type: 'runFinished', at: day(0), runId: 'r0', ok: true },
  { v: 1, type: 'runStarted', at: day(15), runId: 'r15', campaign: 'admins-passkeys', status: 'inProgress' },
  { v: 1, type: 'graceExceeded', at: day(15), runId: 'r15', ...ada, stage: 'deviceUpdate', deadline: '2026-12-15T00:00:00.000Z' },
  { v: 1, type: 'runFinished', at: day(15), runId: 'r15', ok: true },
];

function report(adaName: string, bobName: string) {
  const obs = observation([
    user({ ...ada, displayName: adaName, mail: 'ada@contoso.com', devices: [OLD_IPHONE()] }),
    user({ ...bob, displayName: bobName, mail: null }),
  ], { at: day(15) });
  return buildReport({ campaign: campaign(), events, observation: obs });
}

describe('csvCell', () => {
  it.each([
    { name: 'plain text as is', value: 'Ada Lovelace', want: 'Ada Lovelace' },
    { name: 'an empty value as an empty cell', value: '', want: '' },
    { name: 'a comma quoted', value: 'Lovelace, Ada', want: '"Lovelace, Ada"' },
    { name: 'a quote doubled inside quotes', value: 'Ada "the Countess"', want: '"Ada ""the Countess"""' },
    { name: 'a line break quoted', value: 'Ada\r\nLovelace', want: '"Ada\r\nLovelace"' },
    { name: 'a formula (=) prefixed with an apostrophe', value: '=HYPERLINK("http://evil")', want: '"\'=HYPERLINK(""http://evil"")"' },
    { name: 'a plus prefixed', value: '+1 555 0100', want: "'+1 555 0100" },
    { name: 'a minus prefixed', value: '-2+3', want: "'-2+3" },
    { name: 'an at sign prefixed', value: '@SUM(A1)', want: "'@SUM(A1)" },
    { name: 'a leading tab prefixed', value: '\t=1', want: "'\t=1" },
    { name: 'a sign later in the text as is', value: 'a=b', want: 'a=b' },
  ])('writes $name', ({ value, want }) => {
    expect(csvCell(value)).toBe(want);
  });
});

describe('renderCsv', () => {
  it('writes one RFC 4180 row per targeted user with CRLF line ends, hostile names neutralised', () => {
    const csv = renderCsv(report('=cmd|"/c calc"!A1', 'Bob, "Builder"'));
    expect(csv.endsWith('\r\n')).toBe(true);
    const lines = csv.split('\r\n');
    expect(lines).toEqual([
      CSV_HEADER.join(','),
      'ada@contoso.com,"\'=cmd|""/c calc""!A1",ada@contoso.com,Device update,2026-12-01,2026-12-15,2026-12-15,Needs a device update,iOS 16.5 on Ada\'s iPhone (minimum 17.0),,,',
      'bob@contoso.com,"Bob, ""Builder""",,Passkey registration,2026-12-01,2026-12-15,,Needs to register a passkey,,,,',
      '',
    ]);
  });

  it('keeps only the users past a grace period with stuckOnly', () => {
    const lines = renderCsv(report('Ada', 'Bob'), { stuckOnly: true }).split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[1].startsWith('ada@contoso.com,Ada,')).toBe(true);
  });
});
