/**
 * ajv's complaints about a schema document (against the JSON Schema meta-schema, or `x-warehouse` against its own)
 * in words a schema author reads: one problem per place, with the value found there and what would do instead.
 */
import type { ErrorObject } from 'ajv/dist/2020.js';

/** The value at JSON pointer `pointer` (`/properties/train_id/type`) in `doc`. */
function valueAt(doc: unknown, pointer: string): unknown {
  let at: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  }
  return at;
}

/** The one message for the errors ajv gave at one place: the most telling of them (anyOf only echoes its branches). */
function placeMessage(errors: readonly ErrorObject[], value: unknown): string {
  const of = (keyword: string): ErrorObject[] => errors.filter((e) => e.keyword === keyword);
  const [allowed] = of('enum');
  if (allowed)
    return `${JSON.stringify(value)} is not one of ${(allowed.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  const missing = of('required').map((e) => `"${(e.params as { missingProperty: string }).missingProperty}"`);
  const unexpected = of('additionalProperties').map(
    (e) => `"${(e.params as { additionalProperty: string }).additionalProperty}"`,
  );
  if (missing.length || unexpected.length)
    return [
      ...(missing.length ? [`missing ${missing.join(', ')}`] : []),
      ...(unexpected.length ? [`unexpected ${unexpected.join(', ')}`] : []),
    ].join('; ');
  const [type] = of('type');
  if (type) return `${JSON.stringify(value)} is not of type ${(type.params as { type: string }).type}`;
  return (errors.find((e) => e.keyword !== 'anyOf') ?? errors[0])?.message ?? 'invalid';
}

/**
 * One `{ path, message }` per place that `errors` (ajv's, from validating `doc`) name, the path prefixed with
 * `prefix` (where `doc` sits in the schema file).
 */
export function readableSchemaErrors(
  errors: readonly ErrorObject[] | null | undefined,
  doc: unknown,
  prefix = '',
): Array<{ path: string; message: string }> {
  const byPlace = new Map<string, ErrorObject[]>();
  for (const e of errors ?? []) byPlace.set(e.instancePath, [...(byPlace.get(e.instancePath) ?? []), e]);
  return [...byPlace].map(([place, es]) => ({
    path: prefix + place || '/',
    message: placeMessage(es, valueAt(doc, place)),
  }));
}
