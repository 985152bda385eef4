import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { jsonErrorText } from '../basics/json-text.js';
import addFormatsModule from 'ajv-formats';
import type { RejectReason, ValidationIssue } from '../snapshot/format.js';
import { DECIMAL_FORMAT, isDecimalText } from './decimal-text.js';
import { useFastFormats } from './fast-formats.js';
import { identifierProblem } from './identifiers.js';
import { bigintText } from './json-integer.js';
import { subMicrosecondProblem } from './date-time-precision.js';
import { propertyText, type JsonSource } from './json-source.js';
import { readableSchemaErrors } from './schema-errors.js';
import { DEFAULT_SCHEMAS_DIR, SCHEMA_FILE_SUFFIX, schemaProblemsMessage, type SchemaProblem } from './schema-folder.js';
import { isDateTimeProperty, isIntegerProperty, type PropertySchema } from './json-types.js';

export type { PropertySchema };

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule.default;

/** The vendor keyword a schema uses to say where its events go. */
export const WAREHOUSE_KEYWORD = 'x-warehouse';
/** Optional: values that must NOT validate (checked by `validate`). */
export const COUNTEREXAMPLES_KEYWORD = 'x-counterexamples';
export { DEFAULT_SCHEMAS_DIR, SCHEMA_FILE_SUFFIX, schemaProblemsMessage, type SchemaProblem };

/** An optional state table: one row per entity, updated only by newer events (event time, then offset). */
export interface StateMapping {
  table: string;
  key: string[];
}

/** The `x-warehouse` keyword: which topics a schema applies to and the tables it defines. */
export interface WarehouseMapping {
  topics: string[];
  /** The event table: one row per event, keyed by `key`. */
  table: string;
  /** Properties forming the event table's primary key (required by the schema). */
  key: string[];
  /** A date-time property giving the event's time (orders state updates); Kafka's timestamp when absent. */
  eventTime?: string;
  /** When one topic carries several event types: the property and the values that select this schema. */
  match?: { property: string; values: string[] };
  state?: StateMapping;
}

/** A schema file after loading and compiling. */
export interface LoadedSchema {
  /** File name without `.schema.json`. */
  name: string;
  file: string;
  /** sha256 of the file's bytes. */
  sha256: string;
  json: Record<string, unknown>;
  properties: Record<string, PropertySchema>;
  required: string[];
  mapping: WarehouseMapping;
  validate: ValidateFunction;
  /** Properties whose column is bigint: checked against the bigint range on their exact text. */
  integerProperties: string[];
  /** Properties whose column is timestamptz: checked for fractions finer than a microsecond. */
  dateTimeProperties: string[];
}

const identifierList = { type: 'array', minItems: 1, items: { type: 'string' } };
const MAPPING_META_SCHEMA = {
  type: 'object',
  required: ['topics', 'table', 'key'],
  additionalProperties: false,
  properties: {
    topics: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    table: { type: 'string' },
    key: identifierList,
    eventTime: { type: 'string' },
    match: {
      type: 'object',
      required: ['property', 'values'],
      additionalProperties: false,
      properties: { property: { type: 'string' }, values: { type: 'array', minItems: 1, items: { type: 'string' } } },
    },
    state: {
      type: 'object',
      required: ['table', 'key'],
      additionalProperties: false,
      properties: { table: { type: 'string' }, key: identifierList },
    },
  },
};

/** Checks an `x-warehouse` mapping against its meta-schema (what ajv's compile would refuse in its own words). */
const checkMapping = new Ajv2020({ allErrors: true }).compile(MAPPING_META_SCHEMA);

/** A fresh ajv in strict mode with formats and our vendor keywords. */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  useFastFormats(ajv);
  ajv.addFormat(DECIMAL_FORMAT, { type: 'string', validate: isDecimalText });
  ajv.addKeyword({ keyword: WAREHOUSE_KEYWORD, metaSchema: MAPPING_META_SCHEMA });
  ajv.addKeyword({ keyword: COUNTEREXAMPLES_KEYWORD, metaSchema: { type: 'array' } });
  return ajv;
}

/** ajv's errors as `{ code, path, message }` records that go into rejected lines and summaries verbatim. */
export function issuesFromAjv(errors: ErrorObject[] | null | undefined): ValidationIssue[] {
  return (errors ?? []).map((e) => ({
    code: e.keyword,
    path: e.instancePath || '/',
    message:
      e.keyword === 'required'
        ? `missing required property "${String((e.params as { missingProperty: string }).missingProperty)}"`
        : e.keyword === 'additionalProperties'
          ? `unexpected property "${String((e.params as { additionalProperty: string }).additionalProperty)}"`
          : (e.message ?? e.keyword),
  }));
}

/** Checks that the mapping's identifiers are safe and its keys are required properties. */
function mappingProblems(
  mapping: WarehouseMapping,
  properties: Record<string, PropertySchema>,
  required: string[],
): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  const at = (p: string, message: string | undefined): void => {
    if (message) out.push({ path: `/${WAREHOUSE_KEYWORD}${p}`, message });
  };
  at('/table', identifierProblem(mapping.table));
  const checkKey = (keys: string[], where: string): void =>
    keys.forEach((k, i) => {
      at(`${where}/${i}`, identifierProblem(k));
      if (!(k in properties)) at(`${where}/${i}`, `key "${k}" is not a property of the schema`);
      else if (!required.includes(k)) at(`${where}/${i}`, `key "${k}" must be a required property`);
    });
  checkKey(mapping.key, '/key');
  if (mapping.state) {
    at('/state/table', identifierProblem(mapping.state.table));
    if (mapping.state.table === mapping.table) at('/state/table', 'the state table must differ from the event table');
    checkKey(mapping.state.key, '/state/key');
  }
  if (mapping.eventTime !== undefined) {
    const p = properties[mapping.eventTime];
    if (!p) at('/eventTime', `eventTime "${mapping.eventTime}" is not a property of the schema`);
    else if (p.format !== 'date-time') at('/eventTime', `eventTime "${mapping.eventTime}" must have format date-time`);
  }
  if (mapping.match && !(mapping.match.property in properties))
    at('/match/property', `match property "${mapping.match.property}" is not a property of the schema`);
  for (const name of Object.keys(properties)) {
    const problem = identifierProblem(name);
    if (problem) out.push({ path: `/properties/${name}`, message: `property name cannot be a column: ${problem}` });
  }
  return out;
}

/** Keywords whose values are data or names, not schemas: a misspelt keyword is never looked for in them. */
const NOT_SCHEMA_KEYS = new Set(['default', 'examples', 'const', 'enum', 'x-counterexamples', 'x-warehouse']);
/** Keywords whose value maps names (properties) to schemas: their keys are names, their values schemas. */
const NAMED_SCHEMAS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);

/** The JSON pointer of the first schema in `v` (depth first) that has the keyword `key`. */
function pointerToKey(v: unknown, key: string, at = '', named = false): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const escape = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');
  if (!named && !Array.isArray(v) && Object.hasOwn(v, key)) return `${at}/${escape(key)}`;
  const entries: Array<[string, unknown]> = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
  for (const [k, x] of entries) {
    if (!named && NOT_SCHEMA_KEYS.has(k)) continue;
    const found = pointerToKey(x, key, `${at}/${escape(k)}`, !named && NAMED_SCHEMAS.has(k));
    if (found) return found;
  }
  return undefined;
}

/** Loads one schema file; returns the schema or the problems that keep it from being used. */
export async function loadSchemaFile(file: string): Promise<{ schema?: LoadedSchema; problems: SchemaProblem[] }> {
  const problems: SchemaProblem[] = [];
  const problem = (p: string, message: string): { problems: SchemaProblem[] } => {
    problems.push({ file, path: p, message });
    return { problems };
  };
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return problem('', `cannot read: ${(err as Error).message}`);
  }
  let json: Record<string, unknown>;
  const text = bytes.toString('utf8');
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    return problem('', `not valid JSON: ${jsonErrorText(text, err)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return problem('', 'not a JSON object');
  if (json['type'] !== 'object') return problem('/type', 'a schema for events must have "type": "object"');
  const mapping = json[WAREHOUSE_KEYWORD] as WarehouseMapping | undefined;
  if (!mapping)
    return problem(`/${WAREHOUSE_KEYWORD}`, `missing: name the topics, table and key in "${WAREHOUSE_KEYWORD}"`);
  const ajv = createAjv();
  let validate: ValidateFunction;
  try {
    // Said in words before ajv's compile, which would throw its own jargon (validateSchema itself throws on a
    // $schema it does not know).
    const shape = ajv.validateSchema(json)
      ? checkMapping(mapping)
        ? []
        : readableSchemaErrors(checkMapping.errors, mapping, `/${WAREHOUSE_KEYWORD}`)
      : readableSchemaErrors(ajv.errors, json);
    for (const p of shape) problem(p.path, p.message);
    if (problems.length) return { problems };
    validate = ajv.compile(json);
  } catch (err) {
    const message = (err as Error).message;
    const keyword = /unknown keyword: "([^"]+)"/.exec(message)?.[1];
    const where = keyword === undefined ? undefined : pointerToKey(json, keyword);
    return problem(
      where ?? '',
      `does not compile in ajv strict mode: ${message}${keyword ? ' (a misspelt keyword? see the keywords of JSON Schema 2020-12)' : ''}`,
    );
  }
  const properties = (json['properties'] ?? {}) as Record<string, PropertySchema>;
  const required = (json['required'] ?? []) as string[];
  for (const p of mappingProblems(mapping, properties, required)) problem(p.path, p.message);
  if (problems.length) return { problems };
  const name = path.basename(file).slice(0, -SCHEMA_FILE_SUFFIX.length);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const integerProperties = Object.keys(properties).filter((p) => isIntegerProperty(properties[p]!));
  const dateTimeProperties = Object.keys(properties).filter((p) => isDateTimeProperty(properties[p]!));
  return {
    schema: {
      name,
      file,
      sha256,
      json,
      properties,
      required,
      mapping,
      validate,
      integerProperties,
      dateTimeProperties,
    },
    problems,
  };
}

/** Why none of a topic's several schemas takes `value`: the values each one's `match` takes, and the event's. */
function noMatchMessage(topic: string, candidates: readonly LoadedSchema[], value: Record<string, unknown>): string {
  const unmatched = candidates.filter((c) => !c.mapping.match).map((c) => c.name);
  if (unmatched.length)
    return (
      `topic "${topic}" is claimed by several schemas, and ${unmatched.join(', ')} has no "match" to tell its ` +
      'events apart: run eventful-validate on the schemas'
    );
  const shown = (v: unknown): string => {
    const text = v === undefined ? 'missing' : JSON.stringify(v);
    return text.length > 40 ? `${text.slice(0, 40)}…` : text;
  };
  const takes = candidates.map(
    (c) => `${c.name} takes ${c.mapping.match!.property} ${c.mapping.match!.values.join('/')}`,
  );
  const properties = [...new Set(candidates.map((c) => c.mapping.match!.property))];
  return (
    `no schema for topic "${topic}" matches this event's ${properties.map((p) => `${p} ${shown(value[p])}`).join(', ')} ` +
    `(${takes.join('; ')})`
  );
}

/** The schemas of a folder, routed by topic (and by the `match` property where a topic carries several types). */
export class SchemaRegistry {
  private readonly byTopic = new Map<string, LoadedSchema[]>();

  constructor(readonly schemas: LoadedSchema[]) {
    for (const s of schemas) for (const t of s.mapping.topics) this.byTopic.set(t, [...(this.byTopic.get(t) ?? []), s]);
  }

  /** Loads every `*.schema.json` in `dir`. Problems are returned, not thrown, so `validate` can list them all. */
  static async load(dir: string): Promise<{ registry: SchemaRegistry; problems: SchemaProblem[] }> {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith(SCHEMA_FILE_SUFFIX)).sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const message =
        code === 'ENOENT'
          ? 'no such folder: point --schemas (or EVENTFUL_SCHEMAS) at the folder of *.schema.json files'
          : code === 'ENOTDIR'
            ? 'a file, not a folder: point --schemas (or EVENTFUL_SCHEMAS) at the folder of *.schema.json files'
            : (err as Error).message;
      return { registry: new SchemaRegistry([]), problems: [{ file: dir, path: '', message }] };
    }
    if (names.length === 0)
      return {
        registry: new SchemaRegistry([]),
        problems: [{ file: dir, path: '', message: `no *${SCHEMA_FILE_SUFFIX} files in this folder` }],
      };
    const schemas: LoadedSchema[] = [];
    const problems: SchemaProblem[] = [];
    for (const n of names) {
      const r = await loadSchemaFile(path.join(dir, n));
      problems.push(...r.problems);
      if (r.schema) schemas.push(r.schema);
    }
    problems.push(...crossSchemaProblems(schemas));
    return { registry: new SchemaRegistry(schemas), problems };
  }

  /** Topics any schema applies to. */
  topics(): string[] {
    return [...this.byTopic.keys()].sort();
  }

  hasTopic(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  /**
   * Finds the schema for an event of `topic` and validates `value` against it, then refuses what the warehouse
   * could only store changed: a date-time finer than a microsecond and, with `source` (the JSON text the value was
   * parsed from), an integer property beyond the bigint range, checked on its exact text when it parsed beyond
   * 2^53 (where doubles round).
   */
  check(
    topic: string,
    value: Record<string, unknown>,
    source?: JsonSource,
  ): { schema: LoadedSchema } | { reason: RejectReason } {
    const candidates = this.byTopic.get(topic);
    if (!candidates?.length) return { reason: { code: 'no_schema', message: `no schema applies to topic "${topic}"` } };
    const schema =
      candidates.length === 1 && !candidates[0]!.mapping.match
        ? candidates[0]
        : candidates.find((s) => s.mapping.match?.values.includes(String(value[s.mapping.match.property])));
    if (!schema) return { reason: { code: 'no_schema', message: noMatchMessage(topic, candidates, value) } };
    const issues = schema.validate(value)
      ? exactnessIssues(schema, value, source)
      : issuesFromAjv(schema.validate.errors);
    if (issues.length === 0) return { schema };
    return {
      reason: {
        code: 'schema_violation',
        message: `does not match schema ${schema.name}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
        issues: [...issues],
      },
    };
  }
}

const NO_ISSUES: readonly ValidationIssue[] = Object.freeze([]);

/**
 * Values that valid JSON Schema accepts and the warehouse could only store changed: integer properties whose
 * exact value is beyond the bigint range, or not an integer after all (a fraction too fine for a double, such as
 * 1.00000000000000000001, that parsed to a whole number beyond 2^53; only values beyond 2^53 can have been
 * rounded: for the others the parsed number is exact), and date-times finer than a microsecond.
 */
function exactnessIssues(
  schema: LoadedSchema,
  value: Record<string, unknown>,
  source?: JsonSource,
): readonly ValidationIssue[] {
  let issues: ValidationIssue[] | undefined;
  for (const p of schema.integerProperties) {
    const v = value[p];
    if (typeof v !== 'number' || Number.isSafeInteger(v)) continue;
    const exact = bigintText((source && propertyText(source, p)) ?? String(v));
    if (typeof exact !== 'string') (issues ??= []).push({ code: exact.code, path: `/${p}`, message: exact.problem });
  }
  for (const p of schema.dateTimeProperties) {
    const v = value[p];
    const problem = typeof v === 'string' ? subMicrosecondProblem(v) : undefined;
    if (problem) (issues ??= []).push({ code: 'sub_microsecond', path: `/${p}`, message: problem });
  }
  return issues ?? NO_ISSUES;
}

/** Two schemas must not claim one table, nor share a topic without `match` telling them apart. */
function crossSchemaProblems(schemas: LoadedSchema[]): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  const tables = new Map<string, string>();
  for (const s of schemas)
    for (const t of [s.mapping.table, s.mapping.state?.table].filter((x): x is string => !!x)) {
      const other = tables.get(t);
      if (other)
        out.push({ file: s.file, path: `/${WAREHOUSE_KEYWORD}`, message: `table "${t}" is also defined by ${other}` });
      else tables.set(t, s.file);
    }
  const byTopic = new Map<string, LoadedSchema[]>();
  for (const s of schemas) for (const t of s.mapping.topics) byTopic.set(t, [...(byTopic.get(t) ?? []), s]);
  for (const [topic, list] of byTopic)
    if (list.length > 1 && list.some((s) => !s.mapping.match))
      out.push({
        file: list.map((s) => s.file).join(', '),
        path: `/${WAREHOUSE_KEYWORD}/match`,
        message: `topic "${topic}" is claimed by several schemas: each needs "match" to tell its events apart`,
      });
  return out;
}
