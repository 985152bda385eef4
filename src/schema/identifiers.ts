/** Table and column names come from files users edit: only this shape is accepted, and it is always quoted. */
export const IDENTIFIER_PATTERN = /^[a-z_][a-z0-9_]*$/;
/** Postgres truncates identifiers longer than NAMEDATALEN - 1 bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

/** Why `name` is not a safe identifier, or undefined when it is. */
export function identifierProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `identifier ${JSON.stringify(name)} is not a string`;
  if (!IDENTIFIER_PATTERN.test(name))
    return `identifier ${JSON.stringify(name)} must match ${IDENTIFIER_PATTERN.source} (lower-case letters, digits, underscores)`;
  if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES)
    return `identifier "${name}" is longer than ${MAX_IDENTIFIER_BYTES} bytes`;
  return undefined;
}

/** Quotes an identifier for SQL; throws on one that {@link identifierProblem} refuses (defence in depth). */
export function quoteIdent(name: string): string {
  const problem = identifierProblem(name);
  if (problem) throw new Error(problem);
  return `"${name}"`;
}
