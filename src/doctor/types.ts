// What `campaign doctor` reports: one entry per check, with a stable id, as `campaign doctor --format json` prints it.

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface DoctorCheck {
  /** Stable, dotted: `fido2.enabled`, `ca.breakGlass`… */
  id: string;
  title: string;
  status: CheckStatus;
  /** A failing blocking check stops the scheduled run and makes `campaign doctor` exit 1. */
  blocking: boolean;
  /** What was found, naming objects. */
  message: string;
  /** What to do about it; empty when nothing is to be done. */
  fix: string;
}

export interface DoctorReport {
  campaign: string;
  checks: DoctorCheck[];
}

/** No blocking check failed. */
export function ready(report: DoctorReport): boolean {
  return !report.checks.some((c) => c.blocking && c.status === 'fail');
}
