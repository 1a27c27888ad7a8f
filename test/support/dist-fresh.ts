/**
 * vitest globalSetup: refuses to run the tests against a dist/ older than the sources. Many tests
 * start the built CLI (dist/bin/zkts.js); after an edit to src/ without `npm run build` they would
 * test yesterday's code and pass or fail for the wrong reason.
 *
 * Every src/ and bin/ .ts file must have its dist/ .js output, written no earlier than the source's
 * last change (tsc rewrites every output on each build). No dist/ at all is left to the tests that
 * need it: they skip, or fail under CI (requirements.ts).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './servers.js';

const SOURCE_DIRS = ['src', 'bin'];

function* typescriptFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* typescriptFiles(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** The first source whose dist/ output is missing or older than it, as a sentence; null when dist/ is fresh. */
export function staleDist(root: string): string | null {
  const dist = join(root, 'dist');
  if (!existsSync(dist)) return null;
  for (const dir of SOURCE_DIRS) {
    for (const source of typescriptFiles(join(root, dir))) {
      const rel = relative(root, source);
      const output = join(dist, rel.replace(/\.ts$/, '.js'));
      if (!existsSync(output)) return `${rel} has no build output (dist/${relative(dist, output)})`;
      if (statSync(source).mtimeMs > statSync(output).mtimeMs) return `${rel} changed after dist/${relative(dist, output)} was built`;
    }
  }
  return null;
}

export default function setup(): void {
  const stale = staleDist(REPO_ROOT);
  if (stale !== null) throw new Error(`dist/ is older than the sources: ${stale}. Run npm run build, then the tests.`);
}
