// A reconcile stages the observation snapshot and reduces each user to the devices that decide readiness before it
// decides (src/reconcile/run.ts). That is safe only if decide makes the same decisions on the reduced observation:
// random users with random devices, over runs of days, decided on both.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvents, decide, decisionsToEvents, emptyState, type ObservedDevice, type ObservedUser } from '../../src/engine';
import { reduceObservedDevices } from '../../src/report/report-observation';
import { campaign, day, device, observation, passkey, user, NO_PASSKEY } from './fixtures';

const deviceArb = fc.record({
  operatingSystem: fc.constantFrom('Windows', 'IPhone', 'iOS', 'MacMDM', 'macOS', 'Android', 'AndroidForWork', 'Linux', 'unknown', ''),
  operatingSystemVersion: fc.constantFrom('10.0.22631.4169', '10.0.17763.1', '16.5', '17.2', '18.0', '12.6.1', '13.4', '13.0', '14', '15.0.1', '', 'n/a', '10.0'),
  lastSignInDays: fc.option(fc.integer({ min: -500, max: 0 }), { nil: null }),
  accountEnabled: fc.boolean(),
});

const userArb = fc.record({
  devices: fc.array(deviceArb, { maxLength: 5 }),
  passkey: fc.boolean(),
  readError: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

type DrawnUser = ReturnType<typeof userArb.generate>['value'];

function observed(i: number, u: DrawnUser, d: number): ObservedUser {
  const devices: ObservedDevice[] = u.devices.map((x, j) => device({
    id: `dev-${i}-${j}`,
    displayName: `DEVICE-${i}-${j}`,
    operatingSystem: x.operatingSystem,
    operatingSystemVersion: x.operatingSystemVersion,
    approximateLastSignInDateTime: x.lastSignInDays === null ? null : day(d + x.lastSignInDays),
    accountEnabled: x.accountEnabled,
  }));
  return user({
    userId: `u-${i}`,
    userPrincipalName: `user${i}@contoso.com`,
    devices,
    ...(u.passkey ? passkey() : NO_PASSKEY),
    readErrors: u.readError ? ['devices: 503'] : [],
  });
}

describe('decide on the observation reduced to the devices that decide readiness', () => {
  it('makes the same decisions as on the full observation, run after run', () => {
    fc.assert(
      fc.property(fc.array(userArb, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 400 }), (users, activeWithinDays) => {
        const c = campaign({ devices: { activeWithinDays } });
        const full = emptyState();
        const reduced = emptyState();
        for (let d = 0; d < 12; d++) {
          const now = day(d);
          const a = decide(c, observation(users.map((u, i) => observed(i, u, d)), { at: now }), full, now);
          const obs = observation(users.map((u, i) => observed(i, u, d)), { at: now });
          reduceObservedDevices(c, obs);
          const b = decide(c, obs, reduced, now);
          expect(b).toEqual(a);
          applyEvents(full, decisionsToEvents(a, { runId: `run-${d}`, now }));
          applyEvents(reduced, decisionsToEvents(b, { runId: `run-${d}`, now }));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('drops devices (the check is not vacuous)', () => {
    const c = campaign();
    const obs = observation([user({ devices: [device({ id: 'a' }), device({ id: 'b', operatingSystem: 'IPhone', operatingSystemVersion: '16.5' }), device({ id: 'c', operatingSystemVersion: 'n/a' })] })]);
    reduceObservedDevices(c, obs);
    expect(obs.users[0].devices.map((x) => x.id)).toEqual(['b', 'c']);
  });
});
