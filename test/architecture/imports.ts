// The import-edge checker behind the layering test: pure functions over (file, specifier) pairs, so a
// test can feed it edges that break a rule and see them reported.
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import ts from 'typescript';

/** One import as written: `file` relative to the repository root, `specifier` as in the source. */
export interface Edge {
  file: string;
  specifier: string;
}

export interface Violation {
  file: string;
  specifier: string;
  rule: string;
}

/**
 * Module name → the path prefixes (under src/) it may import. A module is a directory under src/ or a
 * single file ('errors' is src/errors.ts); a file belongs to the module with the longest matching name.
 */
export type AllowedTable = Readonly<Record<string, readonly string[]>>;

export interface Rules {
  allowed: AllowedTable;
  /** Modules that must stay pure, with the node: modules each may still use. */
  pure: Readonly<Record<string, readonly string[]>>;
  /** Where the entry points live; only they may import them. */
  apps: string;
}

const NODE_BUILTINS = new Set(builtinModules);

/** Where a repository path sits in the table's namespace: under src/ without the prefix; the policy pack as policies/…. */
export function modulePath(repoPath: string): string | null {
  const p = repoPath.replace(/\\/g, '/').replace(/\.(ts|js|json)$/, '');
  if (p.startsWith('src/')) return p.slice('src/'.length);
  if (p.startsWith('policies/')) return p;
  return null;
}

const under = (p: string, prefix: string) => p === prefix || p.startsWith(`${prefix}/`);

/** The module a path belongs to: the longest table entry that is the path or a directory above it. */
export function moduleOf(p: string, allowed: AllowedTable): string | null {
  return Object.keys(allowed)
    .filter((m) => under(p, m))
    .sort((a, b) => b.length - a.length)[0] ?? null;
}

const isRelative = (s: string) => s.startsWith('./') || s.startsWith('../');

function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || NODE_BUILTINS.has(specifier.split('/')[0]);
}

/** Every edge that runs against the rules, with the rule it breaks. */
export function checkEdges(edges: readonly Edge[], rules: Rules): Violation[] {
  const out: Violation[] = [];
  const unmapped = new Set<string>();
  for (const { file, specifier } of edges) {
    const from = modulePath(file);
    const fromModule = from === null ? null : moduleOf(from, rules.allowed);
    if (fromModule === null) {
      if (!unmapped.has(file)) out.push({ file, specifier: '', rule: 'the file belongs to no module of the table' });
      unmapped.add(file);
      continue;
    }
    if (!isRelative(specifier)) {
      const pureNode = rules.pure[fromModule];
      if (pureNode && isNodeBuiltin(specifier) && !pureNode.includes(specifier)) {
        out.push({ file, specifier, rule: `${fromModule} is pure: no node: module${pureNode.length ? ` except ${pureNode.join(', ')}` : ''}` });
      }
      continue;
    }
    const to = modulePath(path.posix.join(path.posix.dirname(file.replace(/\\/g, '/')), specifier));
    const toModule = to === null ? null : moduleOf(to, rules.allowed);
    if (to === null) {
      out.push({ file, specifier, rule: 'imports a file outside src/ and policies/' });
      continue;
    }
    if (toModule === null) {
      out.push({ file, specifier, rule: `${to} belongs to no module of the table` });
      continue;
    }
    if (toModule === fromModule) continue;
    if (under(toModule, rules.apps) && !under(fromModule, rules.apps)) {
      out.push({ file, specifier, rule: `only ${rules.apps}/* imports ${rules.apps}/* (${fromModule} → ${toModule})` });
      continue;
    }
    const may = rules.allowed[fromModule];
    if (!may.some((prefix) => under(to, prefix))) {
      out.push({ file, specifier, rule: `${fromModule} may import ${may.length ? may.join(', ') : 'nothing'}; not ${to}` });
    }
  }
  return out;
}

/** Static imports, export-from, dynamic import() and require() with a literal specifier; comments and strings are not imports. */
export function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** The non-test TypeScript files under the given directories, relative to root, sorted. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const walk = (dir: string): string[] =>
    fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) return walk(rel);
      return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
    });
  return dirs.flatMap(walk).sort();
}

/** The import edges of the repository's sources. */
export function repositoryEdges(root: string, dirs: readonly string[]): Edge[] {
  return sourceFiles(root, dirs).flatMap((file) => importsOf(fs.readFileSync(path.join(root, file), 'utf8')).map((specifier) => ({ file, specifier })));
}
