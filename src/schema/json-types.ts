/** The parts of a JSON Schema property the warehouse reads. */
export interface PropertySchema {
  type?: string | string[];
  format?: string;
  default?: unknown;
  [k: string]: unknown;
}

/** JSON Schema `type` of a property as a list ([] when absent or not understood). */
export function jsonTypes(prop: PropertySchema | boolean): string[] {
  if (typeof prop !== 'object' || prop === null) return [];
  const t = prop.type;
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return [];
}

/** Whether a property holds integers, null aside (its column is bigint). */
export function isIntegerProperty(prop: PropertySchema | boolean): boolean {
  const nonNull = jsonTypes(prop).filter((t) => t !== 'null');
  return nonNull.length === 1 && nonNull[0] === 'integer';
}

/** Whether a property holds date-times, null aside (its column is timestamptz). */
export function isDateTimeProperty(prop: PropertySchema | boolean): boolean {
  const nonNull = jsonTypes(prop).filter((t) => t !== 'null');
  return nonNull.length === 1 && nonNull[0] === 'string' && typeof prop === 'object' && prop.format === 'date-time';
}
