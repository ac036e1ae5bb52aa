// The reduced observation (report-observation.ts) is the same whether it is made from the full observation or from
// one already reduced: a reconcile reduces its observed users right after decide, and the report checkpoint reduces
// them again.
import { describe, expect, it } from 'vitest';
import { loadCampaignFile } from '../../src/campaign/load';
import type { Observation, ObservedDevice, ObservedUser } from '../../src/engine/types';
import type { LedgerStore } from '../../src/ledger/store';
import { reduceObservedDevices, writeReducedObservation } from '../../src/report/report-observation';

const AT = '2026-12-01T06:00:00.000Z';
const campaign = (() => {
  const c = loadCampaignFile('test/fixtures/campaigns/admins-passkeys.yaml').campaign!;
  c.spec.status = 'inProgress';
  return c;
})();

/** Devices of every kind readiness tells apart: current, below the minimum, unreadable version, inactive, unknown OS. */
function device(i: number, k: number): ObservedDevice {
  const kinds: Array<[string | null, string | null, string | null, boolean]> = [
    ['Windows', '10.0.22631.1', AT, true],
    ['IPhone', '16.5', AT, true],
    ['Android', 'fourteen', AT, true],
    ['MacMDM', '12.6', '2020-01-01T00:00:00Z', true],
    ['MacMDM', '14.1', AT, false],
    ['Linux', '6.1', AT, true],
    ['Windows', null, AT, true],
    ['AndroidForWork', '13', null, true],
    ['iOS', '17.2', AT, true],
  ];
  const [os, version, seen, enabled] = kinds[(i * 7 + k * 3) % kinds.length];
  return { id: `d-${i}-${k}`, displayName: `Device ${i}.${k}`, operatingSystem: os, operatingSystemVersion: version, approximateLastSignInDateTime: seen, accountEnabled: enabled };
}

function observation(): Observation {
  const users: ObservedUser[] = [];
  for (let i = 0; i < 300; i++) {
    const devices = Array.from({ length: i % 5 }, (_, k) => device(i, k));
    if (i % 37 === 0 && devices.length) devices.push({ ...devices[0] }); // the same device listed twice
    users.push({
      userId: `u-${i}`, userPrincipalName: `user${i}@contoso.com`, displayName: `User ${i}`, mail: i % 11 === 0 ? null : `user${i}@contoso.com`,
      accountEnabled: i % 13 !== 0, devices,
      methodsRegistered: i % 3 === 0 ? ['passKeyDeviceBound'] : [], fido2Methods: i % 4 === 0 ? null : [],
      inFido2PolicyScope: i % 17 === 0 ? null : true, inEnforcementGroup: i % 9 === 0,
      readErrors: i % 23 === 0 ? ['devices: 503'] : [],
    });
  }
  return { v: 1, campaign: 'admins-passkeys', at: AT, fido2Policy: null, users, excluded: [], readErrors: [] };
}

/** The bytes of every piece writeReducedObservation writes, by name, and the header it returns. */
async function written(o: Observation): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const store = { writeSnapshot: async (_c: string, name: string, json: unknown) => void (out[name] = JSON.stringify(json)) } as unknown as LedgerStore;
  out.header = JSON.stringify(await writeReducedObservation(store, 'admins-passkeys', 'id-1', campaign, o));
  return out;
}

describe('reduced observation', () => {
  it('writes the same bytes from the full observation and from the observation with its users already reduced', async () => {
    const full = observation();
    const devicesBefore = full.users.reduce((n, u) => n + u.devices.length, 0);
    const fromFull = await written(full);
    const reduced = observation();
    reduceObservedDevices(campaign, reduced);
    const devicesAfter = reduced.users.reduce((n, u) => n + u.devices.length, 0);
    // The case is one where devices are dropped and some are kept.
    expect(devicesAfter).toBeGreaterThan(0);
    expect(devicesAfter).toBeLessThan(devicesBefore / 2);
    expect(await written(reduced)).toEqual(fromFull);
    // Reducing again changes nothing, and users with read errors keep every device.
    const again = structuredClone(reduced);
    reduceObservedDevices(campaign, again);
    expect(again).toEqual(reduced);
    for (const [i, u] of reduced.users.entries()) if (u.readErrors.length) expect(u).toEqual(full.users[i]);
    // Only the devices are changed: the users otherwise as observed, in their order.
    expect(reduced.users.map(({ devices: _d, ...rest }) => rest)).toEqual(full.users.map(({ devices: _d, ...rest }) => rest));
  });
});
