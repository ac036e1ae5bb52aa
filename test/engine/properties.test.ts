// Property test: random tenants over random day sequences, with a perfect applier. Whatever users do,
// the stage machine keeps its promises.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyEvents,
  assessReadiness,
  decide,
  decisionsToEvents,
  emptyState,
  inCampaign,
  readinessContext,
  requestPostponement,
  type Decision,
  type Fido2Policy,
  type ObservedUser,
} from '../../src/engine';
import { AUTHENTICATOR, YUBIKEY, campaign, day, device, observation, policy } from './fixtures';

/** Every stage move the diagram in src/engine/decide.ts allows; anything else is a bug. */
const ALLOWED_EDGES = new Set([
  'null->deviceUpdate',
  'null->passkeyRegistration',
  'null->enforcementNotice',
  'null->enforced',
  'deviceUpdate->passkeyRegistration',
  'deviceUpdate->enforcementNotice',
  'passkeyRegistration->enforcementNotice',
  'enforcementNotice->passkeyRegistration',
  'enforcementNotice->enforced',
]);

const ACTIONS = [
  'register', 'registerBlockedModel', 'lose', 'updateDevice', 'oldDevice', 'postpone',
  'readError', 'fido2Unread', 'toggleTarget', 'toggleScope', 'removeFromGroup',
] as const;
type Action = (typeof ACTIONS)[number];

interface SimUser {
  id: string;
  upn: string;
  passkey: 'none' | 'good' | 'blockedModel';
  oldDevice: boolean;
  inScope: boolean;
  inGroup: boolean;
  targeted: boolean;
}

const userArb = fc.record({
  passkey: fc.constantFrom<SimUser['passkey']>('none', 'none', 'good', 'blockedModel'),
  oldDevice: fc.boolean(),
  inScope: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  inGroup: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const tenantArb = fc.record({
  users: fc.array(userArb, { minLength: 1, maxLength: 6 }),
  restriction: fc.constantFrom<'none' | 'allow' | 'block'>('none', 'allow', 'block'),
  grace: fc.integer({ min: 2, max: 6 }),
  notice: fc.integer({ min: 1, max: 4 }), // the schema's minimum is 1
  days: fc.array(
    fc.record({
      paused: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      actions: fc.array(fc.record({ user: fc.nat(5), kind: fc.constantFrom<Action>(...ACTIONS) }), { maxLength: 4 }),
    }),
    { minLength: 5, maxLength: 40 },
  ),
});

function fido2Policy(restriction: 'none' | 'allow' | 'block'): Fido2Policy {
  if (restriction === 'allow') return policy({ restrict: { isEnforced: true, enforcementType: 'allow', aaGuids: [YUBIKEY] } });
  if (restriction === 'block') return policy({ restrict: { isEnforced: true, enforcementType: 'block', aaGuids: [AUTHENTICATOR] } });
  return policy();
}

function observe(u: SimUser, today: Set<string>, unread: Set<string>): ObservedUser {
  const aaGuid = u.passkey === 'good' ? YUBIKEY : AUTHENTICATOR;
  return {
    userId: u.id,
    userPrincipalName: u.upn,
    displayName: u.upn,
    mail: u.upn,
    accountEnabled: true,
    devices: [u.oldDevice ? device({ operatingSystem: 'IPhone', operatingSystemVersion: '16.5' }) : device()],
    methodsRegistered: u.passkey === 'none' ? ['mobilePhone'] : ['mobilePhone', 'passKeyDeviceBound'],
    fido2Methods: unread.has(u.id) ? null : u.passkey === 'none' ? [] : [{ id: `f-${u.id}`, aaGuid }],
    inFido2PolicyScope: u.inScope,
    inEnforcementGroup: u.inGroup,
    readErrors: today.has(u.id) ? ['GET /devices: 503'] : [],
  };
}

describe('stage machine properties', () => {
  it('holds its promises over random tenants and random days', () => {
    fc.assert(
      fc.property(tenantArb, (t) => {
        const base = campaign({
          stages: {
            deviceUpdate: { gracePeriodDays: t.grace, reminderEveryDays: 1 },
            passkeyRegistration: { gracePeriodDays: t.grace + 1, reminderEveryDays: 2 },
            enforcement: { noticeDays: t.notice },
          },
          postponement: { enabled: true, days: 2, maxTimes: 2 },
        });
        const paused = { ...base, spec: { ...base.spec, status: 'paused' as const } };
        const pol = fido2Policy(t.restriction);
        const sims: SimUser[] = t.users.map((u, i) => ({ ...u, id: `u-${i}`, upn: `user${i}@contoso.com`, targeted: true }));
        const state = emptyState();
        const keys = new Set<string>();

        t.days.forEach((plan, d) => {
          const now = day(d);
          const readErr = new Set<string>();
          const unread = new Set<string>();
          for (const a of plan.actions) {
            const u = sims[a.user % sims.length];
            switch (a.kind) {
              case 'register': u.passkey = 'good'; break;
              case 'registerBlockedModel': u.passkey = 'blockedModel'; break;
              case 'lose': u.passkey = 'none'; break;
              case 'updateDevice': u.oldDevice = false; break;
              case 'oldDevice': u.oldDevice = true; break;
              case 'readError': readErr.add(u.id); break;
              case 'fido2Unread': unread.add(u.id); break;
              case 'toggleTarget': u.targeted = !u.targeted; break;
              case 'toggleScope': u.inScope = !u.inScope; break;
              case 'removeFromGroup': u.inGroup = false; break;
              case 'postpone': {
                const r = requestPostponement(base, state, u.id, day(d - 0.5));
                if (r.ok) applyEvents(state, [r.event]);
                break;
              }
            }
          }
          const c = plan.paused ? paused : base;
          const obs = observation(sims.filter((u) => u.targeted).map((u) => observe(u, readErr, unread)), { at: now, fido2Policy: pol });
          const decisions = decide(c, obs, state, now);

          // No decisions at all while paused.
          if (plan.paused) {
            expect(decisions).toEqual([]);
            return;
          }
          const ctx = readinessContext(c, pol, now);
          const byId = new Map(obs.users.map((u) => [u.userId, u]));
          const moves = new Map<string, number>();
          for (const dcs of decisions) {
            if (dcs.type === 'warn') continue;
            const ou = byId.get(dcs.userId);
            // Users with failed reads make no move; blocked users are never notified.
            if (ou) expect(ou.readErrors).toEqual([]);
            if (dcs.type === 'notify') {
              expect(ou?.inFido2PolicyScope).toBe(true);
              // No two notifications ever share a key.
              expect(keys.has(dcs.key)).toBe(false);
              keys.add(dcs.key);
            }
            if (dcs.type === 'enterStage') {
              // Every stage move follows the diagram, starting from the stage the ledger says.
              expect(ALLOWED_EDGES.has(`${dcs.from}->${dcs.to}`)).toBe(true);
              const su = state.users[dcs.userId];
              expect(dcs.from).toBe(inCampaign(su) ? su.stage : null);
              moves.set(dcs.userId, (moves.get(dcs.userId) ?? 0) + 1);
            }
            if (dcs.type === 'addToGroup' || (dcs.type === 'enterStage' && dcs.to === 'enforced')) {
              // Nobody is enforced without a passkey observed at that very moment.
              expect(ou).toBeDefined();
              expect(assessReadiness(ou!, ctx).hasPasskey).toBe(true);
            }
          }
          for (const n of moves.values()) expect(n).toBe(1);

          // Apply (a perfect applier), then a second decide at the same now has nothing left to do.
          const evs = decisionsToEvents(decisions, { runId: `r${d}`, now });
          applyEvents(state, evs);
          for (const dcs of decisions) {
            if (dcs.type === 'addToGroup') sims.find((u) => u.id === dcs.userId)!.inGroup = true;
          }
          const again = decide(c, obs, state, now);
          expect(again.filter((x: Decision) => x.type !== 'warn')).toEqual([]);

        });
      }),
      // Fixed seed for reproducible CI; FC_SEED explores other tenants locally.
      { numRuns: 1000, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : 20261201 },
    );
  });
});
