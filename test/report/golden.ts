// Golden files: compared byte for byte; UPDATE_GOLDEN=1 rewrites them instead (then review the diff in git).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';

export const GOLDEN_DIR = path.join(__dirname, 'golden');

export function expectGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
    return;
  }
  if (!fs.existsSync(file)) throw new Error(`golden file ${path.relative(process.cwd(), file)} is missing: run UPDATE_GOLDEN=1 npx vitest run test/report and review it.`);
  // toBe on strings shows a readable diff; a mismatch means the output changed: fix it or regenerate and review.
  expect(actual).toBe(fs.readFileSync(file, 'utf8'));
}
