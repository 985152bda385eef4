/**
 * JSON.parse's complaint about a file's text, said where a person looks for it: the line and column instead of
 * V8's character position, and an empty file called empty.
 */
export function jsonErrorText(text: string, err: unknown): string {
  if (text.trim() === '') return 'the file is empty';
  const message = (err as Error).message;
  const at = /(?: in JSON)? at position (\d+)/.exec(message);
  if (!at) return message === 'Unexpected end of JSON input' ? 'the JSON ends early (cut off?)' : message;
  const position = Number(at[1]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `${message.slice(0, at.index)} at line ${line}, column ${column}`;
}
