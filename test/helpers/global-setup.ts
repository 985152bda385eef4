import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Parses `export NAME=value` lines as printed by `scripts/services env`. */
export function parseExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^export ([A-Z_][A-Z0-9_]*)=(.*)$/gm)) env[m[1]!] = m[2]!;
  return env;
}

/**
 * Starts the real Kafka broker and PostgreSQL through `scripts/services up` (a no-op when they already run)
 * and builds `dist/` so tests can run the compiled commands as Airflow would.
 */
export default function setup(project: TestProject): void {
  const out = execFileSync(path.join(ROOT, 'scripts/services'), ['up'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 280_000,
  });
  const env = parseExports(out);
  Object.assign(process.env, env);
  project.provide('serviceEnv', env);
  // EVENTFUL_SKIP_BUILD=1 when dist/ is already built (e.g. by scripts/test, or while others edit src/).
  if (process.env['EVENTFUL_SKIP_BUILD'] !== '1')
    execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

declare module 'vitest' {
  export interface ProvidedContext {
    serviceEnv: Record<string, string>;
  }
}
