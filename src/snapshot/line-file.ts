import { createHash, type Hash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { ManifestFile } from './format.js';

/** Writes NDJSON lines to a stream, counting bytes and lines and hashing as it goes; honours backpressure. */
export class LineFileWriter {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private lines = 0;
  private failure: Error | undefined;

  constructor(
    readonly name: string,
    private readonly out: Writable,
  ) {
    out.on('error', (err) => (this.failure = err));
  }

  /** Appends one JSON value as a line. Await it: it waits when the stream's buffer is full. */
  async write(value: unknown): Promise<void> {
    if (this.failure) throw this.failure;
    const buf = Buffer.from(JSON.stringify(value) + '\n', 'utf8');
    this.hash.update(buf);
    this.bytes += buf.length;
    this.lines += 1;
    if (!this.out.write(buf)) await waitDrain(this.out);
  }

  /** Ends the stream and returns the file's manifest entry. */
  async close(): Promise<ManifestFile> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
    return { name: this.name, bytes: this.bytes, lines: this.lines, sha256: this.hash.digest('hex') };
  }
}

function waitDrain(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      out.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      out.off('drain', onDrain);
      reject(err);
    };
    out.once('drain', onDrain).once('error', onError);
  });
}

const NEWLINE = 0x0a;

/** A data file whose bytes do not match its manifest entry. */
export class ChecksumMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChecksumMismatchError';
  }
}

/**
 * Reads an NDJSON file line by line (as raw strings), hashing every byte; after the last line it checks
 * size and sha256 against the manifest entry and throws {@link ChecksumMismatchError} on any difference.
 * Callers must treat the lines as untrusted until the iteration has finished without error.
 */
export async function* readVerifiedLines(input: Readable, expected: ManifestFile): AsyncGenerator<string> {
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  // Split on the newline byte, not on decoded text: a chunk may end inside a multi-byte character.
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of input as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
      lines += 1;
      yield buf.toString('utf8', start, nl);
      start = nl + 1;
    }
    rest = buf.subarray(start);
  }
  if (rest.length) {
    lines += 1;
    yield rest.toString('utf8');
  }
  const sha256 = hash.digest('hex');
  if (bytes !== expected.bytes || sha256 !== expected.sha256 || lines !== expected.lines)
    throw new ChecksumMismatchError(
      `${expected.name}: content does not match the manifest (expected ${expected.bytes} bytes, ${expected.lines} lines, ` +
        `sha256 ${expected.sha256}; found ${bytes} bytes, ${lines} lines, sha256 ${sha256}); the snapshot was altered or truncated`,
    );
}
