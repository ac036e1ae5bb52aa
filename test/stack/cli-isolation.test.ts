// The CLI and the Functions app must run without Pulumi: nothing outside src/stack imports Pulumi or the
// stack, and the production build (which the Functions package is made of) leaves src/stack out.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..', '..');
function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('CLI isolation from Pulumi', () => {
  it('has no import of @pulumi or src/stack outside src/stack', () => {
    const offenders = tsFiles(path.join(root, 'src'))
      .filter((f) => !f.startsWith(path.join(root, 'src', 'stack') + path.sep))
      .filter((f) => /from ['"](@pulumi\/|[./]+\/stack\b)|require\(['"]@pulumi\//.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(root, f));
    expect(offenders).toEqual([]);
  });

  it('leaves src/stack out of the production build, which holds the Functions app', () => {
    const build = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')) as { include?: string[]; exclude?: string[] };
    expect(build.exclude).toContain('src/stack/**');
    expect(build.include).toEqual(['src/**/*.ts']);
    expect(build.exclude?.filter((e) => e.startsWith('src/apps'))).toEqual([]);
  });
});
