// Stage and alert names as the reports show them. The vocabularies grow (graduated enforcement adds a stage after
// `enforced` and an alert): everything here iterates STAGES and ALERT_KINDS and looks labels up by name with a
// fallback, so a new entry shows up with its own label, or its key, instead of breaking the reports.
import { STAGES, type Stage } from '../engine/types';

/** The stage after `enforced` in graduated mode: users whose own sign-ins qualified them for the enabled policy. */
export const GRADUATED: string = 'graduated';

/** Stage names as people read them (a stage missing here reads as its key). */
export const STAGE_TITLE: Readonly<Record<string, string>> = {
  deviceUpdate: 'Device update',
  passkeyRegistration: 'Passkey registration',
  enforcementNotice: 'Enforcement notice',
  enforced: 'Enforced',
  graduated: 'Graduated',
};

export function stageTitle(stage: string): string {
  return STAGE_TITLE[stage] ?? stage;
}

/** Alert kinds as the dashboard labels them (a kind missing here reads as its key). */
export const ALERT_LABEL: Readonly<Record<string, string>> = {
  EnforcedWithoutPasskey: 'Enforced without passkey',
  OutsideFido2PolicyScope: 'Outside FIDO2 policy scope',
  NotInEnforcementGroup: 'Not in enforcement group',
  Unreachable: 'Unreachable',
  AccountDisabled: 'Account disabled',
  GraduatedSignInFailures: 'Graduated sign-ins failing',
};

export function alertLabel(kind: string): string {
  return ALERT_LABEL[kind] ?? kind;
}

/** Position of a stage in campaign order; -1 for one the vocabulary does not have. */
export function stageIndex(stage: string): number {
  return (STAGES as readonly string[]).indexOf(stage);
}

/** The user has reached enforcement: `enforced` or a later stage (graduated). */
export function enforcedOrLater(stage: Stage | null): boolean {
  return stage !== null && stageIndex(stage) >= stageIndex('enforced');
}

/** The vocabulary has the stage (graduated exists once graduated enforcement is part of the stage machine). */
export function hasStage(name: string): boolean {
  return stageIndex(name) >= 0;
}

/** A zero for every stage of the vocabulary. */
export function zeroStages(): Record<Stage, number> {
  const out = {} as Record<Stage, number>;
  for (const s of STAGES) out[s] = 0;
  return out;
}
