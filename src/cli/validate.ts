/**
 * `validate`: checks every schema for CI, without touching Kafka or Postgres.
 * - each file loads and compiles in ajv strict mode, and its `x-warehouse` mapping is sound (registry);
 * - each schema becomes tables: property names, keys and table names are safe, the DDL renders;
 * - every entry of `examples` routes to its schema, validates, and fits the table's columns;
 * - no entry of `x-counterexamples` validates.
 * Prints the problems on stderr (and the DDL on stdout with `--ddl`), then one JSON summary line; exit 0 or 2.
 */
import { hideBin } from 'yargs/helpers';
import { renderDdl, schemaTables, type TableDef } from '../schema/ddl.js';
import { identifierProblem } from '../schema/identifiers.js';
import {
  COUNTEREXAMPLES_KEYWORD,
  DEFAULT_SCHEMAS_DIR,
  SchemaRegistry,
  type LoadedSchema,
  type SchemaProblem,
} from '../schema/registry.js';
import type { EventLine } from '../snapshot/format.js';
import { findTextProblem } from '../warehouse/copy-text.js';
import { EventRowEncoder } from '../warehouse/event-rows.js';
import { ledgerTable } from '../warehouse/ledger.js';
import { quarantineTable } from '../warehouse/quarantine.js';
import { ExitCode, UsageError } from '../basics/errors.js';
import { stderrLogger } from '../basics/log.js';
import { runCommand } from './run-command.js';
import { terminalWidth, withUsageErrors } from './command-support.js';
import {
  commandParser,
  helpEpilogue,
  resolveOptions,
  sharedOptions,
  withHelpHint,
  type OptionDefinitions,
} from './option-definitions.js';

/** What validate found about one schema that loaded. */
export interface SchemaReport {
  name: string;
  file: string;
  topics: string[];
  tables: string[];
  examples: number;
  counterexamples: number;
}

export interface ValidationReport {
  status: 'ok' | 'invalid';
  schemasDir: string;
  schemas: SchemaReport[];
  problems: SchemaProblem[];
  /** Not failures: things worth fixing (e.g. a schema without examples). */
  warnings: SchemaProblem[];
  /** The DDL of every table in a fresh Postgres schema, when it rendered. */
  ddl?: string;
}

const EXAMPLE_COORDINATES = { partition: 0, offset: 0, timestamp: 0, key: null, headers: [] };

/** Checks one schema's examples and counter-examples against the registry and its event table. */
function exampleProblems(
  schema: LoadedSchema,
  registry: SchemaRegistry,
  eventTable: TableDef | undefined,
): { problems: SchemaProblem[]; warnings: SchemaProblem[]; examples: number; counterexamples: number } {
  const problems: SchemaProblem[] = [];
  const warnings: SchemaProblem[] = [];
  const at = (path: string, message: string): void => void problems.push({ file: schema.file, path, message });
  const examples = schema.json['examples'];
  const counter = schema.json[COUNTEREXAMPLES_KEYWORD];
  let exampleCount = 0;
  if (examples === undefined)
    warnings.push({ file: schema.file, path: '/examples', message: 'no examples: add one so CI checks the schema' });
  else if (!Array.isArray(examples)) at('/examples', 'must be an array of example events');
  else {
    exampleCount = examples.length;
    const encoder = eventTable ? new EventRowEncoder(eventTable, 'validate') : undefined;
    examples.forEach((ex: unknown, i) => {
      const where = `/examples/${i}`;
      if (typeof ex !== 'object' || ex === null || Array.isArray(ex)) return at(where, 'an example must be an object');
      const value = ex as Record<string, unknown>;
      for (const topic of schema.mapping.topics) {
        const r = registry.check(topic, value);
        if ('reason' in r) return at(where, `topic ${topic}: ${r.reason.message}`);
        if (r.schema !== schema) return at(where, `topic ${topic}: routed to schema ${r.schema.name}, not this one`);
      }
      const text = findTextProblem(value);
      if (text) return at(`${where}${text.path === '/' ? '' : text.path}`, `cannot be stored: ${text.problem}`);
      if (encoder) {
        const line: EventLine = { topic: schema.mapping.topics[0]!, ...EXAMPLE_COORDINATES, value };
        const encoded = encoder.encode(line);
        if ('reason' in encoded) at(where, encoded.reason.message);
      }
    });
  }
  let counterCount = 0;
  if (Array.isArray(counter)) {
    counterCount = counter.length;
    counter.forEach((ce: unknown, i) => {
      if (schema.validate(ce)) at(`/${COUNTEREXAMPLES_KEYWORD}/${i}`, 'validates, but a counter-example must not');
    });
  }
  return { problems, warnings, examples: exampleCount, counterexamples: counterCount };
}

/** Runs every check on the schemas of `dir`; `dbSchema` names the Postgres schema the DDL is rendered for. */
export async function validateSchemas(dir: string, dbSchema = 'public'): Promise<ValidationReport> {
  const { registry, problems } = await SchemaRegistry.load(dir);
  const warnings: SchemaProblem[] = [];
  const schemas: SchemaReport[] = [];
  const tables: TableDef[] = [ledgerTable(), quarantineTable()];
  for (const s of registry.schemas) {
    const t = schemaTables(s);
    for (const p of t.problems) problems.push({ file: s.file, path: p.path, message: p.message });
    tables.push(...t.tables);
    const ex = exampleProblems(
      s,
      registry,
      t.tables.find((x) => x.kind === 'event'),
    );
    problems.push(...ex.problems);
    warnings.push(...ex.warnings);
    schemas.push({
      name: s.name,
      file: s.file,
      topics: s.mapping.topics,
      tables: t.tables.map((x) => x.name),
      examples: ex.examples,
      counterexamples: ex.counterexamples,
    });
  }
  const report: ValidationReport = { status: 'ok', schemasDir: dir, schemas, problems, warnings };
  try {
    report.ddl = renderDdl(dbSchema, tables);
  } catch (err) {
    problems.push({ file: dir, path: '', message: `the DDL does not render: ${(err as Error).message}` });
  }
  if (problems.length) report.status = 'invalid';
  return report;
}

const SCRIPT = 'eventful-validate';

/** validate's options: the shared ones and its own. */
export const VALIDATE_OPTIONS = {
  ...sharedOptions('schemas'),
  ddl: { type: 'boolean', describe: 'Print the rendered DDL on stdout before the summary', default: false },
  ...sharedOptions('db-schema'),
} as const satisfies OptionDefinitions;

const DESCRIPTION =
  'Checks every schema for CI, without touching Kafka or Postgres: each compiles in ajv strict mode, its examples\n' +
  'validate and its x-counterexamples do not, the warehouse mapping is safe and the DDL renders. Problems are\n' +
  'listed on stderr and in the JSON summary, and end the run with exit 2.';

/** The `validate` command, as `node dist/validate.js` runs it. */
export async function main(argv: string[] = hideBin(process.argv)): Promise<never> {
  const log = stderrLogger('validate');
  return runCommand(log, async () => {
    const args = await withHelpHint(SCRIPT, async () => {
      const options = commandParser(argv, SCRIPT, `$0 [options]\n\n${DESCRIPTION}`, VALIDATE_OPTIONS).epilog(
        helpEpilogue(),
      );
      const o = resolveOptions(
        VALIDATE_OPTIONS,
        await withUsageErrors(options, terminalWidth()).parseAsync(),
        process.env,
      );
      const dbSchema = o.string('db-schema')!;
      const problem = identifierProblem(dbSchema);
      if (problem) throw new UsageError(`${o.from('db-schema')}: ${problem}`);
      return { schemas: o.string('schemas') ?? DEFAULT_SCHEMAS_DIR, ddl: o.boolean('ddl'), dbSchema };
    });
    const report = await validateSchemas(args.schemas, args.dbSchema);
    for (const p of report.problems) log.error(`${p.file}${p.path ? ` ${p.path}` : ''}: ${p.message}`);
    for (const w of report.warnings) log.warn(`${w.file}${w.path ? ` ${w.path}` : ''}: ${w.message}`);
    if (args.ddl && report.ddl) process.stdout.write(report.ddl + '\n');
    log.info(
      report.status === 'ok'
        ? `${report.schemas.length} schema(s) valid: ${report.schemas.map((s) => s.name).join(', ')}`
        : `${report.problems.length} problem(s) found in ${args.schemas}`,
    );
    const { ddl: _ddl, ...summary } = report;
    void _ddl;
    return {
      summary: summary as unknown as Record<string, unknown>,
      exitCode: report.status === 'ok' ? ExitCode.Ok : ExitCode.Usage,
    };
  });
}
