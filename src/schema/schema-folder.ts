import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where schemas are found, without the schema compiler: commands that only need the folder's name (or hand the
 * compiling to other threads) do not load ajv.
 */

export const SCHEMA_FILE_SUFFIX = '.schema.json';

/** Where the package's own schemas live (`<package>/schemas`), the default of `--schemas`. */
export const DEFAULT_SCHEMAS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas');

/** A problem found in a schema file: the file, a JSON pointer into it ('' for the whole file) and what is wrong. */
export interface SchemaProblem {
  file: string;
  path: string;
  message: string;
}

/** The usage error's text when the schemas of `dir` have problems: every problem on a line of its own. */
export function schemaProblemsMessage(dir: string, problems: readonly SchemaProblem[]): string {
  return (
    `the schemas in ${dir} have problems (run eventful-validate):\n` +
    problems.map((p) => `  ${p.file}${p.path ? ` at ${p.path}` : ''}: ${p.message}`).join('\n')
  );
}
