// The Pulumi program: loads every campaign with the same loader as `campaign validate`, so an
// invalid campaign fails `pulumi preview` with the same file:line:col messages.
import * as path from 'node:path';
import { validatePaths } from '../campaign/validate';
import { formatDiagnostic } from '../cli/validate';
import { campaignsDir } from './config';

const dir = path.resolve(__dirname, '..', '..', campaignsDir);
const report = validatePaths([dir]);
if (!report.valid) {
  const lines = report.files.flatMap((f) => f.errors.map(formatDiagnostic));
  throw new Error(`invalid campaign files in ${campaignsDir}:\n${lines.join('\n')}`);
}

export const campaigns = report.files.map((f) => ({ name: f.name, status: f.status }));
