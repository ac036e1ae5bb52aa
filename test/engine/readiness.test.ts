import { describe, expect, it } from 'vitest';
import {
  assessReadiness,
  compareVersions,
  normalizeOs,
  parseVersion,
  readinessContext,
  type ObservedUser,
} from '../../src/engine';
import { AUTHENTICATOR, NOW, YUBIKEY, campaign, day, device, passkey, policy, user } from './fixtures';

describe('normalizeOs', () => {
  const cases = [
    { name: 'maps Windows to Windows', os: 'Windows', want: 'Windows' },
    { name: 'maps "Windows 10" to Windows', os: 'Windows 10', want: 'Windows' },
    { name: 'maps lower-case "windows" to Windows', os: 'windows', want: 'Windows' },
    { name: 'maps iOS to iOS', os: 'iOS', want: 'iOS' },
    { name: 'maps IPhone to iOS', os: 'IPhone', want: 'iOS' },
    { name: 'maps iPad to iOS', os: 'iPad', want: 'iOS' },
    { name: 'maps iPadOS to iOS', os: 'iPadOS', want: 'iOS' },
    { name: 'maps MacMDM to macOS', os: 'MacMDM', want: 'macOS' },
    { name: 'maps "Mac OS X" to macOS', os: 'Mac OS X', want: 'macOS' },
    { name: 'maps macOS to macOS', os: 'macOS', want: 'macOS' },
    { name: 'maps MACOS with spaces around to macOS', os: '  MACOS ', want: 'macOS' },
    { name: 'maps Android to Android', os: 'Android', want: 'Android' },
    { name: 'maps AndroidForWork to Android', os: 'AndroidForWork', want: 'Android' },
    { name: 'maps AndroidEnterprise to Android', os: 'AndroidEnterprise', want: 'Android' },
    { name: 'leaves Linux unmapped', os: 'Linux', want: null },
    { name: 'leaves ChromeOS unmapped', os: 'ChromeOS', want: null },
    { name: 'leaves an unknown name unmapped', os: 'Unknown', want: null },
    { name: 'leaves a missing name unmapped', os: null, want: null },
  ];
  it.each(cases)('$name', ({ os, want }) => {
    expect(normalizeOs(os)).toBe(want);
  });
});

describe('versions', () => {
  const cases = [
    { name: 'a Windows 11 build is at least Windows 10 1903', a: '10.0.22631.4169', b: '10.0.18362', want: 1 },
    { name: 'Windows 10 1809 is below 1903', a: '10.0.17763.1', b: '10.0.18362', want: -1 },
    { name: '17.4.1 is at least 17.0', a: '17.4.1', b: '17.0', want: 1 },
    { name: '17 equals 17.0 (missing segments are zero)', a: '17', b: '17.0', want: 0 },
    { name: '9 is below 10 (numeric, not lexical)', a: '9', b: '10', want: -1 },
    { name: '13.10 is above 13.9', a: '13.10', b: '13.9', want: 1 },
    { name: 'a macOS build suffix is ignored', a: '14 (Build 23A344)', b: '13.0', want: 1 },
    { name: 'an iOS build suffix is ignored', a: '17.4.1 (21E236)', b: '17.0', want: 1 },
  ];
  it.each(cases)('$name', ({ a, b, want }) => {
    expect(compareVersions(parseVersion(a)!, parseVersion(b)!)).toBe(want);
  });

  const unparsable = [
    { name: 'an empty version is unknown', v: '' },
    { name: 'a version without digits is unknown', v: 'unknown' },
    { name: 'a missing version is unknown', v: null },
  ];
  it.each(unparsable)('$name', ({ v }) => {
    expect(parseVersion(v)).toBeNull();
  });
});

describe('assessReadiness', () => {
  const c = campaign();
  const assess = (u: ObservedUser, p = policy()) => assessReadiness(u, readinessContext(c, p, NOW));

  const categories = [
    { name: 'a user with a current device and no passkey needs a passkey', u: user(), want: 'needsPasskey' },
    { name: 'a user with a current device and a passkey is ready', u: user(passkey()), want: 'ready' },
    { name: 'a user with an old iPhone needs a device update', u: user({ devices: [device({ operatingSystem: 'IPhone', operatingSystemVersion: '16.5' })] }), want: 'needsDeviceUpdate' },
    { name: 'a user with an old iPhone and a passkey still needs a device update', u: user({ ...passkey(), devices: [device({ operatingSystem: 'IPhone', operatingSystemVersion: '16.5' })] }), want: 'needsDeviceUpdate' },
    { name: 'an old device last seen 400 days ago is ignored', u: user({ devices: [device({ operatingSystemVersion: '10.0.17763', approximateLastSignInDateTime: day(-400) })] }), want: 'needsPasskey' },
    { name: 'an old device seen exactly 365 days ago still counts', u: user({ devices: [device({ operatingSystemVersion: '10.0.17763', approximateLastSignInDateTime: day(-365) })] }), want: 'needsDeviceUpdate' },
    { name: 'an old device that never signed in is ignored', u: user({ devices: [device({ operatingSystemVersion: '10.0.17763', approximateLastSignInDateTime: null })] }), want: 'needsPasskey' },
    { name: 'an old disabled device is ignored', u: user({ devices: [device({ operatingSystemVersion: '10.0.17763', accountEnabled: false })] }), want: 'needsPasskey' },
    { name: 'an old Linux device neither blocks nor counts', u: user({ devices: [device({ operatingSystem: 'Linux', operatingSystemVersion: '5.15' })] }), want: 'needsPasskey' },
    { name: 'a Windows device with an unreadable version does not block', u: user({ devices: [device({ operatingSystemVersion: 'n/a' })] }), want: 'needsPasskey' },
    { name: 'a user with no devices and a passkey is ready', u: user({ ...passkey(), devices: [] }), want: 'ready' },
  ];
  it.each(categories)('$name', ({ u, want }) => {
    expect(assess(u).category).toBe(want);
  });

  it('lists the devices below minimum with platform, version and minimum', () => {
    const r = assess(user({ devices: [device({ id: 'd1', displayName: "Ada's iPhone", operatingSystem: 'IPhone', operatingSystemVersion: '16.5 (20F66)' }), device({ id: 'd2' })] }));
    expect(r.devicesBelowMinimum).toEqual([{ deviceId: 'd1', displayName: "Ada's iPhone", platform: 'iOS', version: '16.5', minimum: '17.0' }]);
    expect(r.activeDevices).toBe(2);
  });

  it('records a device whose version cannot be read without blocking its user', () => {
    const r = assess(user({ devices: [device({ id: 'd9', displayName: 'MAC-9', operatingSystem: 'MacMDM', operatingSystemVersion: 'unknown' })] }));
    expect(r.unknownVersions).toEqual([{ deviceId: 'd9', displayName: 'MAC-9', platform: 'macOS', operatingSystemVersion: 'unknown' }]);
    expect(r.devicesBelowMinimum).toEqual([]);
  });

  const passkeys = [
    { name: 'passKeyDeviceBound counts as a passkey', methods: ['passKeyDeviceBound'], want: true },
    { name: 'passKeyDeviceBoundAuthenticator counts as a passkey', methods: ['passKeyDeviceBoundAuthenticator'], want: true },
    { name: 'passKeyDeviceBoundWindowsHello counts as a passkey', methods: ['passKeyDeviceBoundWindowsHello'], want: true },
    { name: 'passKeySynced counts as a passkey', methods: ['passKeySynced'], want: true },
    { name: 'fido2SecurityKey counts as a passkey', methods: ['fido2SecurityKey'], want: true },
    { name: 'method names are compared case-insensitively', methods: ['PASSKEYSYNCED'], want: true },
    { name: 'Windows Hello for Business alone is not a passkey', methods: ['windowsHelloForBusiness'], want: false },
    { name: 'Authenticator push alone is not a passkey', methods: ['microsoftAuthenticatorPush', 'mobilePhone'], want: false },
  ];
  it.each(passkeys)('$name', ({ methods, want }) => {
    expect(assess(user({ methodsRegistered: methods, fido2Methods: null })).hasPasskey).toBe(want);
  });

  it('counts a fido2 method even when methodsRegistered lags behind', () => {
    const r = assess(user({ methodsRegistered: [], fido2Methods: [{ id: 'f1', aaGuid: YUBIKEY }] }));
    expect(r.hasPasskey).toBe(true);
    expect(r.passkeyEvidence).toEqual([`fido2:${YUBIKEY}`]);
  });

  const allowList = policy({ restrict: { isEnforced: true, enforcementType: 'allow', aaGuids: [YUBIKEY.toUpperCase()] } });
  const blockList = policy({ restrict: { isEnforced: true, enforcementType: 'block', aaGuids: [AUTHENTICATOR] } });
  const notEnforced = policy({ restrict: { isEnforced: false, enforcementType: 'allow', aaGuids: [YUBIKEY] } });
  const restrictions = [
    { name: 'an allow list accepts a listed AAGUID (case-insensitively)', p: allowList, u: user(passkey(YUBIKEY)), want: true },
    { name: 'an allow list rejects an unlisted AAGUID', p: allowList, u: user(passkey(AUTHENTICATOR)), want: false },
    { name: 'a block list rejects a listed AAGUID', p: blockList, u: user(passkey(AUTHENTICATOR)), want: false },
    { name: 'a block list accepts an unlisted AAGUID', p: blockList, u: user(passkey(YUBIKEY)), want: true },
    { name: 'restrictions that are not enforced change nothing', p: notEnforced, u: user(passkey(AUTHENTICATOR)), want: true },
    { name: 'under restrictions methodsRegistered alone does not prove an allowed passkey', p: allowList, u: user({ methodsRegistered: ['passKeySynced'], fido2Methods: [] }), want: false },
    { name: 'under restrictions a fido2 method without an AAGUID does not count', p: blockList, u: user({ methodsRegistered: [], fido2Methods: [{ id: 'f1', aaGuid: null }] }), want: false },
    { name: 'under restrictions unread fido2Methods make a reported passkey unknown', p: allowList, u: user({ methodsRegistered: ['passKeySynced'], fido2Methods: null }), want: null },
    { name: 'under restrictions unread fido2Methods and no reported passkey mean none', p: allowList, u: user({ methodsRegistered: ['mobilePhone'], fido2Methods: null }), want: false },
  ];
  it.each(restrictions)('$name', ({ p, u, want }) => {
    expect(assess(u, p).hasPasskey).toBe(want);
  });

  it('lists the fido2 methods rejected by the restrictions', () => {
    const r = assess(user(passkey(AUTHENTICATOR)), allowList);
    expect(r.disallowedFido2).toEqual([{ id: 'fido-de1e', aaGuid: AUTHENTICATOR, model: 'Microsoft Authenticator' }]);
    expect(r.category).toBe('needsPasskey');
  });
});
