/**
 * Runs {@link SnapshotLineEncoder} on blocks of lines, either in this thread or in worker threads.
 *
 * Parsing, validating and encoding events is most of a load's CPU; worker threads let it use every core while
 * this thread reads, hashes and talks to Postgres. Results come back as transferred byte buffers (no copy).
 * Callers apply results in the order they submitted blocks, so a load does the same whichever thread is faster.
 */
import { Worker } from 'node:worker_threads';
import type { TableDef } from '../schema/ddl.js';
import type { SchemaRegistry } from '../schema/registry.js';
import {
  SnapshotLineEncoder,
  type EncodedBlock,
  type EncodedRows,
  type LineKind,
  type PreparedBlock,
} from './line-encoder.js';

/** Encodes blocks of lines of the current snapshot. */
export interface BlockEncoder {
  /** Threads encoding in parallel. */
  readonly threads: number;
  encode(snapshotId: string, kind: LineKind, lines: string[], firstLineNo: number): Promise<EncodedBlock>;
  close(): Promise<void>;
}

/** What a worker needs to build the same encoder as this thread. */
export interface EncoderSetup {
  schemasDir: string;
  /** sha256 of each schema file by schema name: a worker refuses to run on schemas that changed meanwhile. */
  schemaHashes: Record<string, string>;
  eventTables: Array<[schemaName: string, table: TableDef]>;
}

/** Encodes in this thread. */
export class InlineEncoder implements BlockEncoder {
  readonly threads = 1;
  private current: { id: string; encoder: SnapshotLineEncoder } | undefined;

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly eventTables: Array<[string, TableDef]>,
  ) {}

  private encoderFor(snapshotId: string): SnapshotLineEncoder {
    if (this.current?.id !== snapshotId)
      this.current = { id: snapshotId, encoder: new SnapshotLineEncoder(this.registry, this.eventTables, snapshotId) };
    return this.current.encoder;
  }

  encode(snapshotId: string, kind: LineKind, lines: string[], firstLineNo: number): Promise<EncodedBlock> {
    try {
      return Promise.resolve(this.encoderFor(snapshotId).encode(kind, lines, firstLineNo));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Parses a block and collects the keys to look up before encoding (see SnapshotLineEncoder.prepare). */
  prepare(snapshotId: string, kind: LineKind, lines: string[]): PreparedBlock {
    return this.encoderFor(snapshotId).prepare(kind, lines);
  }

  /** Encodes a prepared block, leaving out the lines whose keys are stored. */
  encodePrepared(
    snapshotId: string,
    block: PreparedBlock,
    firstLineNo: number,
    stored: Array<ReadonlySet<number> | undefined>,
  ): EncodedBlock {
    return this.encoderFor(snapshotId).encodePrepared(block, firstLineNo, stored);
  }

  async close(): Promise<void> {}
}

/** A request to a worker and its answer (see encoder-worker). */
export interface EncodeRequest {
  id: number;
  snapshotId: string;
  kind: LineKind;
  text: string;
  firstLineNo: number;
}
export type EncodeResponse =
  { id: number; block: EncodedBlock } | { id: number; error: string } | { ready: true } | { fatal: string };

/** Buffers arrive from a worker as plain typed arrays: make the byte data a Buffer again. */
function revive(block: EncodedBlock): EncodedBlock {
  block.tables = block.tables.map((t): EncodedRows | undefined =>
    t ? { ...t, data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength) } : undefined,
  );
  return block;
}

/**
 * A worker holds a few blocks of lines at a time: a small young generation keeps its memory (and the load's
 * peak RSS) low at little cost in collection time.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 256 };

/** Encodes in `size` worker threads, round robin. */
export class WorkerEncoderPool implements BlockEncoder {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (b: EncodedBlock) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private next = 0;
  private failure: Error | undefined;

  private constructor() {}

  get threads(): number {
    return this.workers.length;
  }

  /** Starts the workers and waits until each has loaded the schemas. */
  static async start(size: number, setup: EncoderSetup): Promise<WorkerEncoderPool> {
    const pool = new WorkerEncoderPool();
    const url = new URL('./encoder-worker.js', import.meta.url);
    await Promise.all(
      Array.from({ length: size }, () => {
        const worker = new Worker(url, { workerData: setup, resourceLimits: WORKER_LIMITS });
        pool.workers.push(worker);
        return new Promise<void>((resolve, reject) => {
          worker.once('message', (m: EncodeResponse) =>
            'ready' in m ? resolve() : reject(new Error('fatal' in m ? m.fatal : 'encoder worker did not start')),
          );
          worker.once('error', reject);
        }).then(() => {
          worker.on('message', (m: EncodeResponse) => pool.onMessage(m));
          worker.on('error', (err) => pool.fail(err));
          worker.on('exit', (code) => {
            if (code !== 0) pool.fail(new Error(`encoder worker exited with code ${code}`));
          });
        });
      }),
    ).catch(async (err: unknown) => {
      await pool.close();
      throw err;
    });
    return pool;
  }

  private onMessage(m: EncodeResponse): void {
    if (!('id' in m)) return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if ('error' in m) p.reject(new Error(m.error));
    else p.resolve(revive(m.block));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  encode(snapshotId: string, kind: LineKind, lines: string[], firstLineNo: number): Promise<EncodedBlock> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const worker = this.workers[this.next]!;
    this.next = (this.next + 1) % this.workers.length;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: EncodeRequest = { id, snapshotId, kind, text: lines.join('\n'), firstLineNo };
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    for (const w of workers) w.removeAllListeners('exit');
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
