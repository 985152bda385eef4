/**
 * The one vocabulary of the `eventful-*` commands' `--help`: how an option is defined (wording, type, default,
 * the `[env: NAME]` it reads), the options several commands share, the database settings note and the exit-code
 * table every help ends with. Each command builds its parser from these definitions with {@link addOptions}, so
 * the seven helps say the same things the same way.
 */
import yargs, { type Argv } from 'yargs';
import { BOOTSTRAP_SERVERS_ENV, KAFKA_CONFIG_ENV, KAFKA_PROPERTY_ENV_PREFIX } from '../config/kafka-config.js';
import { refuseRetiredEnv } from '../config/settings-support.js';
import { UsageError } from '../basics/errors.js';

/** One command-line option. */
export interface OptionDefinition {
  readonly type: 'string' | 'number' | 'boolean';
  /** What the option does: a sentence that starts with a capital letter, without a final full stop. */
  readonly describe: string;
  /** The environment variable read when the flag is not given (flags win over it). */
  readonly env?: string;
  /** The value used when neither the flag nor its variable is given. */
  readonly default?: string | number | boolean;
  /** How `--help` shows the default when the value itself would not say it (a computed path, "today"). */
  readonly defaultDescription?: string;
  /** Repeatable: every occurrence is kept. */
  readonly array?: boolean;
}

/** A command's options by flag name (without the leading `--`). */
export type OptionDefinitions = Readonly<Record<string, OptionDefinition>>;

/** The Postgres schema the warehouse lives in: shared by load, report and validate. */
export const DB_SCHEMA_ENV = 'EVENTFUL_DB_SCHEMA';
export const DEFAULT_DB_SCHEMA = 'public';

/** Options that mean the same in every command that has them: one wording, type, default and variable. */
export const SHARED_OPTIONS = {
  'db-schema': {
    type: 'string',
    describe: 'Postgres schema of the warehouse tables and views',
    env: DB_SCHEMA_ENV,
    default: DEFAULT_DB_SCHEMA,
  },
  schemas: {
    type: 'string',
    describe: 'Folder of *.schema.json files',
    env: 'EVENTFUL_SCHEMAS',
    defaultDescription: "the package's schemas/",
  },
  snapshots: {
    type: 'string',
    describe: 'Snapshot root: a folder, or s3://bucket/prefix (credentials from the AWS_* variables)',
    env: 'EVENTFUL_SNAPSHOTS',
  },
  'dry-run': {
    type: 'boolean',
    describe: 'Change nothing: do the work and say what would change (the description above says how)',
    env: 'EVENTFUL_DRY_RUN',
    default: false,
  },
  'max-rejected-ratio': {
    type: 'number',
    describe:
      'Largest share (0-1) of the events read that may be quarantined; above it the run fails ' +
      '(extract commits nothing, load refuses the snapshot)',
    env: 'EVENTFUL_MAX_REJECTED_RATIO',
    default: 0.1,
  },
  topics: { type: 'string', describe: 'Comma-separated Kafka topics', env: 'EVENTFUL_TOPICS' },
  'group-id': {
    type: 'string',
    describe: 'Consumer group whose committed offsets mark what was snapshotted',
    env: 'EVENTFUL_GROUP_ID',
  },
  'bootstrap-servers': { type: 'string', describe: 'Kafka brokers host:port,...', env: BOOTSTRAP_SERVERS_ENV },
  kafka: {
    type: 'string',
    array: true,
    describe:
      `Any librdkafka property as key=value, repeatable (no secrets: put those in ${KAFKA_PROPERTY_ENV_PREFIX}<PROP> ` +
      `variables, e.g. ${KAFKA_PROPERTY_ENV_PREFIX}SASL_PASSWORD, or in the JSON object ${KAFKA_CONFIG_ENV})`,
  },
} as const satisfies OptionDefinitions;

/** Picks shared options by name, for a command's table of definitions. */
export function sharedOptions<K extends keyof typeof SHARED_OPTIONS>(...names: K[]): Pick<typeof SHARED_OPTIONS, K> {
  return Object.fromEntries(names.map((n) => [n, SHARED_OPTIONS[n]])) as Pick<typeof SHARED_OPTIONS, K>;
}

/** The connection settings of the commands that talk to PostgreSQL (load, report). */
export const DATABASE_SETTINGS =
  'PostgreSQL connection: DATABASE_URL, or PGHOST, PGPORT, PGUSER, PGDATABASE (default localhost:5432); the\n' +
  'password only from the environment (PGPASSWORD, or in DATABASE_URL), never from a flag.';

/** The exit-code table, the same in every command's help and always last. */
export const EXIT_CODE_TABLE = [
  'Exit codes:',
  '  0   done',
  "  99  nothing to do (said above when): Airflow's BashOperator marks the task skipped",
  '  2   bad usage or configuration: fix the settings, a retry will not help',
  '  1   any other failure: Airflow retries the task',
  'Logs go to stderr; the last line on stdout is a JSON summary.',
].join('\n');

/** The help's epilogue: the command's own notes (if any), then the exit-code table. */
export function helpEpilogue(...notes: string[]): string {
  return [...notes, EXIT_CODE_TABLE].join('\n\n');
}

/** The text `--help` shows for an option: its description and the variable it reads. */
function helpText(d: OptionDefinition): string {
  return d.env ? `${d.describe} [env: ${d.env}]` : d.describe;
}

/**
 * Adds the options to a parser. yargs gets no default: a default given to yargs would hide the environment
 * variable. The default is only shown; {@link resolveOptions} (or a command's settings module) applies it.
 */
export function addOptions<T>(parser: Argv<T>, definitions: OptionDefinitions): Argv<T> {
  let p = parser;
  for (const [name, d] of Object.entries(definitions)) {
    const shown = d.defaultDescription ?? (d.default === undefined ? undefined : JSON.stringify(d.default));
    p = p.option(name, {
      type: d.type,
      describe: helpText(d),
      ...(d.array && { array: true }),
      ...(shown !== undefined && { defaultDescription: shown }),
    });
  }
  return p;
}

/**
 * `argv` with each boolean flag given a value (`--dry-run=yes`) read with the words its environment variable takes
 * (1/true/yes/on, 0/false/no/off), and any other word refused: yargs alone reads every word but `true` as false,
 * so `--dry-run=yes` did the real run.
 */
export function booleanWords(argv: readonly string[], definitions: OptionDefinitions): string[] {
  refuseRepeatedBooleans(argv, definitions);
  return argv.map((arg) => {
    const m = /^--([^=]+)=(.*)$/s.exec(arg);
    // yargs takes the camelCase spelling (--dryRun) as the same flag.
    const name = m?.[1]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (!m || !name || definitions[name]?.type !== 'boolean') return arg;
    const word = m[2]!.trim().toLowerCase();
    if (TRUE.has(word)) return `--${m[1]}=true`;
    if (FALSE.has(word)) return `--${m[1]}=false`;
    throw new UsageError(`--${name} takes no value, or one of ${[...TRUE, ...FALSE].join(', ')}; got "${m[2]}"`);
  });
}

/**
 * Refuses a boolean flag given twice, in any spelling (`--dry-run --no-dry-run`, `--dryRun=false --dry-run`):
 * yargs takes the last, so a contradiction did what its last word said without a word.
 */
function refuseRepeatedBooleans(argv: readonly string[], definitions: OptionDefinitions): void {
  const seen = new Set<string>();
  for (const arg of argv) {
    const m = /^--(no-)?([^=]+)(=.*)?$/s.exec(arg);
    if (!m) continue;
    const name = m[2]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (definitions[name]?.type !== 'boolean') continue;
    if (seen.has(name))
      throw new UsageError(`--${name} is given more than once: give it once, as --${name} or --no-${name}`);
    seen.add(name);
  }
}

/** A command's parser: its script name, usage text and options (boolean values read by {@link booleanWords}). */
export function commandParser(
  argv: readonly string[],
  scriptName: string,
  usage: string,
  definitions: OptionDefinitions,
): Argv {
  return addOptions(yargs(booleanWords(argv, definitions)).scriptName(scriptName).usage(usage), definitions);
}

/** How a command's help points at itself at the end of a usage error. */
export function helpHint(scriptName: string): string {
  return `(see \`${scriptName} --help\`)`;
}

/**
 * Runs the part of a command that reads its flags and settings; a {@link UsageError} from it gets the pointer to
 * `--help` at its end.
 */
export async function withHelpHint<T>(scriptName: string, stage: () => T | Promise<T>): Promise<T> {
  try {
    return await stage();
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${err.message} ${helpHint(scriptName)}`);
    throw err;
  }
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** An option's value and where it came from (`--flag`, a variable's name, or `default`). */
export interface ResolvedOption {
  value: string | number | boolean | string[] | undefined;
  from: string;
}

/** One value from the environment, parsed as the option's type; an unusable one names the variable. */
function fromEnv(d: OptionDefinition, text: string): string | number | boolean | string[] {
  const name = d.env!;
  if (d.type === 'number') {
    const n = Number(text.trim());
    if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name} must be a number, got "${text}"`);
    return n;
  }
  if (d.type === 'boolean') {
    const v = text.trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    throw new UsageError(`${name} must be true or false, got "${text}"`);
  }
  return d.array ? [text] : text;
}

/** The options' values after {@link resolveOptions}, read by type. */
export class ResolvedOptions {
  constructor(private readonly values: Readonly<Record<string, ResolvedOption>>) {}

  /** Where the option's value came from: `--flag`, a variable's name, or `default` (for error messages). */
  from(name: string): string {
    return this.values[name]?.from ?? 'default';
  }

  string(name: string): string | undefined {
    const v = this.values[name]?.value;
    return v === undefined ? undefined : String(v);
  }

  number(name: string): number | undefined {
    const v = this.values[name]?.value;
    return v === undefined ? undefined : Number(v);
  }

  boolean(name: string): boolean {
    return this.values[name]?.value === true;
  }

  strings(name: string): string[] {
    const v = this.values[name]?.value;
    return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
  }
}

/**
 * Each option's value: the flag, else its environment variable (an empty one counts as unset), else its default.
 * A number flag that is not a number, and a single-valued flag given twice, are usage errors naming the flag.
 */
export function resolveOptions(
  definitions: OptionDefinitions,
  flags: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
): ResolvedOptions {
  refuseRetiredEnv(env);
  const out: Record<string, ResolvedOption> = {};
  for (const [name, d] of Object.entries(definitions)) {
    const flag = flags[name];
    if (Array.isArray(flag) && !d.array) throw new UsageError(`--${name} is given more than once`);
    if (typeof flag === 'number' && !Number.isFinite(flag))
      throw new UsageError(`--${name} must be a number, e.g. --${name} ${d.default ?? 1}`);
    const text = d.env === undefined ? undefined : env[d.env];
    if (flag !== undefined) out[name] = { value: flag as ResolvedOption['value'], from: `--${name}` };
    else if (text !== undefined && text !== '') out[name] = { value: fromEnv(d, text), from: d.env! };
    else out[name] = { value: d.default, from: 'default' };
  }
  return new ResolvedOptions(out);
}
