// Readiness, the seed's three categories: needsDeviceUpdate (an active device below the minimum OS),
// needsPasskey (no usable passkey), ready (neither). Pure: `now` comes in, nothing is read.
import type { Campaign, OsPlatform } from '../campaign/types';
import { DAY_MS, toMs } from './time';
import type { Fido2Policy, ObservedDevice, ObservedUser } from './types';

export type ReadinessCategory = 'needsDeviceUpdate' | 'needsPasskey' | 'ready';

/** `methodsRegistered` values that are passkeys (compared case-insensitively). */
export const PASSKEY_METHODS: readonly string[] = [
  'passKeyDeviceBound',
  'passKeyDeviceBoundAuthenticator',
  'passKeyDeviceBoundWindowsHello',
  'passKeySynced',
  'fido2SecurityKey',
];
const PASSKEY_METHODS_LOWER = new Set(PASSKEY_METHODS.map((m) => m.toLowerCase()));

/** An active device whose OS is below the campaign's minimum. */
export interface DeviceBelowMinimum {
  deviceId: string;
  displayName: string;
  platform: OsPlatform;
  version: string;
  minimum: string;
}

/** An active device on a supported platform whose version could not be read: reported, never blocking. */
export interface DeviceUnknownVersion {
  deviceId: string;
  displayName: string;
  platform: OsPlatform;
  operatingSystemVersion: string | null;
}

export interface Readiness {
  category: ReadinessCategory;
  /** true/false from the observation; null when AAGUID restrictions apply but fido2Methods were not read. */
  hasPasskey: boolean | null;
  /** What proves the passkey: method names and `fido2:<aaGuid>` entries; empty when none. */
  passkeyEvidence: string[];
  /** fido2 methods that exist but do not count because the AAGUID restrictions reject them. */
  disallowedFido2: Array<{ id: string; aaGuid: string | null; model: string | null }>;
  devicesBelowMinimum: DeviceBelowMinimum[];
  unknownVersions: DeviceUnknownVersion[];
  /** Enabled devices signed in within `activeWithinDays` on a supported platform. */
  activeDevices: number;
}

/** Campaign- and run-level inputs to readiness, computed once per run rather than per user. */
export interface ReadinessContext {
  activeSinceMs: number;
  minimum: Record<OsPlatform, { text: string; parts: number[] }>;
  restriction: { type: 'allow' | 'block'; aaGuids: Set<string> } | null;
}

export function readinessContext(campaign: Campaign, fido2Policy: Fido2Policy | null, now: string): ReadinessContext {
  const min = campaign.spec.devices.minimumOs;
  const minimum = {} as ReadinessContext['minimum'];
  for (const platform of Object.keys(min) as OsPlatform[]) {
    const parts = parseVersion(min[platform]);
    // A minimum that is not a version would block nobody silently; fail loudly instead.
    if (!parts) throw new RangeError(`spec.devices.minimumOs.${platform} is not a version: ${JSON.stringify(min[platform])}`);
    minimum[platform] = { text: min[platform], parts };
  }
  const kr = fido2Policy?.keyRestrictions;
  return {
    activeSinceMs: toMs(now) - campaign.spec.devices.activeWithinDays * DAY_MS,
    minimum,
    restriction: kr?.isEnforced
      ? { type: kr.enforcementType, aaGuids: new Set(kr.aaGuids.map((g) => g.toLowerCase())) }
      : null,
  };
}

/** Maps Graph's many operatingSystem spellings to a platform; null for platforms without a minimum. */
export function normalizeOs(operatingSystem: string | null | undefined): OsPlatform | null {
  if (!operatingSystem) return null;
  const os = operatingSystem.trim().toLowerCase().replace(/\s+/g, ' ');
  if (os.startsWith('windows')) return 'Windows';
  if (os === 'ios' || os === 'iphone' || os === 'ipad' || os === 'ipados' || os.startsWith('iphone ') || os.startsWith('ipad ')) return 'iOS';
  if (os.startsWith('macmdm') || os.startsWith('mac os') || os.startsWith('macos') || os === 'osx' || os === 'os x' || os === 'mac') return 'macOS';
  if (os.startsWith('android')) return 'Android';
  return null;
}

/** Leading dotted number of a version (`17.4.1 (21E236)` → [17,4,1]); null when there is none. */
export function parseVersion(version: string | null | undefined): number[] | null {
  if (!version) return null;
  const m = /^\s*v?(\d+(?:\.\d+)*)/i.exec(version);
  if (!m) return null;
  return m[1].split('.').map((p) => Number(p));
}

/** Numeric segment-by-segment comparison; missing segments count as 0 (`17` equals `17.0`). */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Whether a device takes part in readiness: enabled and signed in within the active window. */
export function isActiveDevice(device: ObservedDevice, ctx: ReadinessContext): boolean {
  if (!device.accountEnabled || !device.approximateLastSignInDateTime) return false;
  const at = Date.parse(device.approximateLastSignInDateTime);
  // An unreadable sign-in time is treated like a missing one: inactive.
  return !Number.isNaN(at) && at >= ctx.activeSinceMs;
}

/**
 * Readiness of one user. Passkey rule: any passkey value in methodsRegistered or any fido2 method
 * counts, except when the FIDO2 policy enforces AAGUID restrictions: then only fido2 methods whose
 * aaGuid passes count (methodsRegistered cannot tell the model), and if fido2Methods were not read
 * while methodsRegistered shows a passkey the answer is null (unknown) rather than a guess.
 */
export function assessReadiness(user: ObservedUser, ctx: ReadinessContext): Readiness {
  const devicesBelowMinimum: DeviceBelowMinimum[] = [];
  const unknownVersions: DeviceUnknownVersion[] = [];
  let activeDevices = 0;
  for (const d of user.devices) {
    if (!isActiveDevice(d, ctx)) continue;
    const platform = normalizeOs(d.operatingSystem);
    if (!platform) continue;
    activeDevices++;
    const parts = parseVersion(d.operatingSystemVersion);
    if (!parts) {
      unknownVersions.push({ deviceId: d.id, displayName: d.displayName, platform, operatingSystemVersion: d.operatingSystemVersion });
      continue;
    }
    const min = ctx.minimum[platform];
    if (compareVersions(parts, min.parts) < 0) {
      devicesBelowMinimum.push({ deviceId: d.id, displayName: d.displayName, platform, version: parts.join('.'), minimum: min.text });
    }
  }

  const passkeyEvidence: string[] = [];
  const disallowedFido2: Readiness['disallowedFido2'] = [];
  let hasPasskey: boolean | null;
  const r = ctx.restriction;
  if (r) {
    if (user.fido2Methods === null) {
      // Without the AAGUIDs a reported passkey may or may not pass; with none reported, none passes.
      hasPasskey = user.methodsRegistered.some((m) => PASSKEY_METHODS_LOWER.has(m.toLowerCase())) ? null : false;
    } else {
      for (const m of user.fido2Methods) {
        const g = m.aaGuid ? m.aaGuid.toLowerCase() : null;
        // A method without an aaGuid cannot be shown to pass the restriction.
        const allowed = g !== null && (r.type === 'allow' ? r.aaGuids.has(g) : !r.aaGuids.has(g));
        if (allowed) passkeyEvidence.push(`fido2:${g}`);
        else disallowedFido2.push({ id: m.id, aaGuid: m.aaGuid, model: m.model ?? null });
      }
      hasPasskey = passkeyEvidence.length > 0;
    }
  } else {
    for (const m of user.methodsRegistered) {
      if (PASSKEY_METHODS_LOWER.has(m.toLowerCase())) passkeyEvidence.push(m);
    }
    if (user.fido2Methods) {
      for (const m of user.fido2Methods) passkeyEvidence.push(`fido2:${m.aaGuid ? m.aaGuid.toLowerCase() : m.id}`);
    }
    hasPasskey = passkeyEvidence.length > 0;
  }

  const category: ReadinessCategory =
    devicesBelowMinimum.length > 0 ? 'needsDeviceUpdate' : hasPasskey === true ? 'ready' : 'needsPasskey';
  return { category, hasPasskey, passkeyEvidence, disallowedFido2, devicesBelowMinimum, unknownVersions, activeDevices };
}

/** "iOS 16.5 on Ada's iPhone (minimum 17.0)" for the first few devices, for messages and reports. */
export function describeDevices(devices: readonly DeviceBelowMinimum[], max = 3): string {
  const shown = devices.slice(0, max).map((d) => `${d.platform} ${d.version} on ${d.displayName} (minimum ${d.minimum})`);
  const more = devices.length > max ? ` and ${devices.length - max} more` : '';
  return shown.join(', ') + more;
}
