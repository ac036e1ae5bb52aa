// `campaign doctor`: the prerequisites of a campaign, checked read-only (doctor.ts).
export { runDoctor, EXAMPLES, type DoctorOptions } from './doctor';
export { ready, type CheckStatus, type DoctorCheck, type DoctorReport } from './types';
