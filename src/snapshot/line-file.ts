import { createHash, type Hash } from 'node:crypto';
import { pipeline, Readable, Transform, type Writable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import type { ManifestFile } from './format.js';

/**
 * gzip level for compressed snapshot files. On event JSON, level 1 makes files ~9x smaller at ~370 MB/s
 * on one core; the default level 6 gets ~13x at ~155 MB/s. Snapshots favour speed.
 */
export const GZIP_LEVEL = 1;

/** How a {@link LineFileWriter} stores its lines. */
export interface LineFileOptions {
  /** gzip the lines; size and sha256 in the manifest entry are then those of the compressed bytes. */
  compression?: 'gzip' | undefined;
}

/**
 * A gzip stream in front of `out` that counts and hashes the compressed bytes reaching `out` (what is stored).
 * Write plain bytes into `input` (honouring its backpressure), then `finish()`. Any writer of snapshot files
 * can put one in front of its output to support compression.
 */
export class GzipMeter {
  /** Plain bytes go in here. */
  readonly input: Writable;
  private readonly hash: Hash = createHash('sha256');
  private stored = 0;
  private failure: Error | undefined;
  private readonly piped: Promise<void>;

  constructor(out: Writable, level: number = GZIP_LEVEL) {
    const gzip = createGzip({ level });
    const meter = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.hash.update(chunk);
        this.stored += chunk.length;
        done(null, chunk);
      },
    });
    this.input = gzip;
    this.piped = new Promise((resolve) =>
      pipeline(gzip, meter, out, (err) => {
        if (err) this.failure ??= err;
        resolve();
      }),
    );
  }

  /** The first failure of the compressor or of `out`, if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Ends the input and waits until every compressed byte is in `out`; returns size and sha256 of what is stored. */
  async finish(): Promise<{ bytes: number; sha256: string }> {
    if (this.failure) throw this.failure;
    this.input.end();
    await this.piped;
    if (this.failure) throw this.failure;
    return { bytes: this.stored, sha256: this.hash.digest('hex') };
  }
}

/**
 * Writes NDJSON lines to a stream, counting lines and hashing the stored bytes as it goes (after compression,
 * when compressing: the manifest describes what is stored, so a reader can verify it before decompressing);
 * honours backpressure.
 */
export class LineFileWriter {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private lines = 0;
  private failure: Error | undefined;
  /** Compresses in front of `out`, when compressing. */
  private readonly gzip: GzipMeter | undefined;

  constructor(
    readonly name: string,
    private readonly out: Writable,
    options: LineFileOptions = {},
  ) {
    if (options.compression === 'gzip') this.gzip = new GzipMeter(out);
    else {
      this.gzip = undefined;
      out.on('error', (err) => (this.failure = err));
    }
  }

  /** Appends one JSON value as a line. Await it: it waits when the stream's buffer is full. */
  async write(value: unknown): Promise<void> {
    const failure = this.failure ?? this.gzip?.error;
    if (failure) throw failure;
    const buf = Buffer.from(JSON.stringify(value) + '\n', 'utf8');
    this.lines += 1;
    if (this.gzip) {
      if (!this.gzip.input.write(buf)) await waitDrain(this.gzip.input);
      return;
    }
    this.hash.update(buf);
    this.bytes += buf.length;
    if (!this.out.write(buf)) await waitDrain(this.out);
  }

  /** Ends the stream and returns the file's manifest entry. */
  close(): Promise<ManifestFile> {
    const { name, out, gzip, failure, lines, bytes, hash } = this;
    return closeLineFile({ name, out, gzip, failure, lines, bytes, hash });
  }
}

/** What {@link closeLineFile} needs of a line file writer. */
export interface OpenLineFile {
  readonly name: string;
  /** The file's stream. */
  readonly out: Writable;
  /** The compressor in front of `out`, when compressing (it then measures what is stored). */
  readonly gzip: GzipMeter | undefined;
  /** The first error of `out`, if any. */
  readonly failure: Error | undefined;
  readonly lines: number;
  /** Bytes written to `out` and their running hash (unused when compressing), whose digest may come later. */
  readonly bytes: number;
  readonly hash: { digest(encoding: 'hex'): string | Promise<string> };
}

/**
 * Ends a line file whose every line was written (throwing its stream's first error, if any) and returns its
 * manifest entry: name, stored size, line count, sha256 of the stored bytes, and the compression if any.
 */
export async function closeLineFile(file: OpenLineFile): Promise<ManifestFile> {
  if (file.failure) throw file.failure;
  if (file.gzip) {
    const stored = await file.gzip.finish();
    return { name: file.name, bytes: stored.bytes, lines: file.lines, sha256: stored.sha256, compression: 'gzip' };
  }
  await new Promise<void>((resolve, reject) => {
    file.out.once('error', reject);
    file.out.end(() => resolve());
  });
  return { name: file.name, bytes: file.bytes, lines: file.lines, sha256: await file.hash.digest('hex') };
}

/**
 * Resolves on the stream's next `drain`; rejects on its `error`, or when it closes first (a stream destroyed by
 * its pipeline may close without an error event of its own) with `closedError()`.
 */
export function waitDrain(
  out: Writable,
  closedError: () => Error = () => new Error('the output stream closed before it could take more data'),
): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      out.off('drain', onDrain).off('error', onError).off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(closedError());
    };
    out.once('drain', onDrain).once('error', onError).once('close', onClose);
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

/** Passes chunks through, counting and hashing them. */
async function* measured(input: AsyncIterable<Buffer>, meter: { hash: Hash; bytes: number }): AsyncGenerator<Buffer> {
  for await (const chunk of input) {
    meter.hash.update(chunk);
    meter.bytes += chunk.length;
    yield chunk;
  }
}

/** Decompresses a gzip byte stream; bytes that are not valid gzip become a {@link ChecksumMismatchError}. */
async function* gunzipped(input: AsyncIterable<Buffer>, name: string): AsyncGenerator<Buffer> {
  const gunzip = createGunzip();
  pipeline(Readable.from(input), gunzip, () => {
    // Errors surface through the iteration below.
  });
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    // zlib's own errors carry Z_* codes; anything else (a broken connection) is not about the content.
    if (String((err as NodeJS.ErrnoException).code ?? '').startsWith('Z_'))
      throw new ChecksumMismatchError(
        `${name}: stored bytes are not valid gzip (${(err as Error).message}); the snapshot was altered or truncated`,
      );
    throw err;
  } finally {
    gunzip.destroy();
  }
}

/**
 * Splits a byte stream into lines (without their newline), as UTF-8 strings, handed out in blocks: the lines that
 * end in each chunk (one await per chunk rather than per line). No block is empty.
 */
export async function* splitLineBlocks(input: AsyncIterable<Buffer>): AsyncGenerator<string[]> {
  // Split on the newline byte, not on decoded text: a chunk may end inside a multi-byte character.
  // The start of a line that continues in later chunks waits in `rest`; only that line is ever copied.
  let rest: Buffer[] = [];
  for await (const chunk of input) {
    const lines: string[] = [];
    let start = 0;
    if (rest.length) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl === -1) {
        rest.push(chunk);
        continue;
      }
      rest.push(chunk.subarray(0, nl));
      lines.push(Buffer.concat(rest).toString('utf8'));
      rest = [];
      start = nl + 1;
    }
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      lines.push(chunk.toString('utf8', start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) rest.push(chunk.subarray(start));
    if (lines.length) yield lines;
  }
  if (rest.length) yield [Buffer.concat(rest).toString('utf8')];
}

/** Splits a byte stream into lines (without their newline), as UTF-8 strings. */
export async function* splitLines(input: AsyncIterable<Buffer>): AsyncGenerator<string> {
  for await (const block of splitLineBlocks(input)) yield* block;
}

/**
 * Reads an NDJSON file in blocks of lines (raw strings; see {@link splitLineBlocks}), hashing every stored byte
 * and decompressing when the manifest entry says `compression: 'gzip'`; after the last line it checks size,
 * sha256 and line count against the entry and throws {@link ChecksumMismatchError} on any difference.
 * Callers must treat the lines as untrusted until the iteration has finished without error.
 */
export async function* readVerifiedLineBlocks(input: Readable, expected: ManifestFile): AsyncGenerator<string[]> {
  const meter = { hash: createHash('sha256'), bytes: 0 };
  const stored = measured(input as AsyncIterable<Buffer>, meter);
  const plain = expected.compression === 'gzip' ? gunzipped(stored, expected.name) : stored;
  let lines = 0;
  for await (const block of splitLineBlocks(plain)) {
    lines += block.length;
    yield block;
  }
  const { bytes } = meter;
  const sha256 = meter.hash.digest('hex');
  if (bytes !== expected.bytes || sha256 !== expected.sha256 || lines !== expected.lines)
    throw new ChecksumMismatchError(
      `${expected.name}: content does not match the manifest (expected ${expected.bytes} bytes, ${expected.lines} lines, ` +
        `sha256 ${expected.sha256}; found ${bytes} bytes, ${lines} lines, sha256 ${sha256}); the snapshot was altered or truncated`,
    );
}

/** {@link readVerifiedLineBlocks}, one line at a time. */
export async function* readVerifiedLines(input: Readable, expected: ManifestFile): AsyncGenerator<string> {
  for await (const block of readVerifiedLineBlocks(input, expected)) yield* block;
}
