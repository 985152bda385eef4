import { Worker } from 'node:worker_threads';
import { UsageError } from '../basics/errors.js';
import type { EventChecker } from '../kafka/decode.js';
import { decodeBatch, type DecodedBatch, type PackedBatch } from './decode-batch.js';
import type { DecodeWorkerData } from './decode-worker.js';
import type { RunningHash } from './running-hash.js';

/** A batch as `packBatch` made it: the batch, and the buffers of it that may move to another thread. */
export interface PackedJob {
  batch: PackedBatch;
  transfer: ArrayBuffer[];
}

/** Decodes packed batches; results are delivered in the order the batches were submitted. */
export interface BatchDecoder {
  /** Decodes a batch; its `transfer` buffers may be detached (moved to a decode thread) once this returns. */
  decode(job: PackedJob): Promise<DecodedBatch>;
  close(): Promise<void>;
}

/** Decodes on the calling thread (used with `--decode-threads 0` and by unit tests). */
export class InlineDecoder implements BatchDecoder {
  constructor(
    private readonly schemas: EventChecker,
    private readonly serialise: boolean,
  ) {}

  async decode({ batch }: PackedJob): Promise<DecodedBatch> {
    return decodeBatch(batch, this.schemas, this.serialise);
  }

  async close(): Promise<void> {}
}

/**
 * A decode thread's young generation: its garbage (parsed values, line strings) dies within a batch, so a small
 * nursery costs little time and keeps peak RSS down.
 */
const YOUNG_GENERATION_MB = 8;

type Reply =
  | { type: 'ready'; topics: string[] }
  | { type: 'problems'; message: string }
  | { type: 'decoded'; decoded: DecodedBatch }
  | { type: 'digest'; id: number; hex: string }
  | { type: 'error'; message: string };

interface Pending {
  resolve: (d: DecodedBatch) => void;
  reject: (err: Error) => void;
}

/**
 * Decode threads: JSON parsing, schema validation and line serialisation move off the thread that talks to
 * Kafka, which then only converts the client's messages and keeps the books. Each thread answers its batches in
 * order, and batches go round-robin, so awaiting the promises in submission order keeps every partition in order.
 * The threads compile the schemas; the pool says which topics they cover, so the calling thread need not compile
 * them too.
 */
export class DecodePool implements BatchDecoder {
  private readonly pending: Pending[][];
  private next = 0;
  private failure: Error | undefined;
  private nextHash = 0;
  private readonly digests = new Map<number, { resolve: (hex: string) => void; reject: (err: Error) => void }>();
  private readonly topics: ReadonlySet<string>;

  private constructor(
    private readonly workers: Worker[],
    topics: readonly string[],
  ) {
    this.pending = workers.map(() => []);
    this.topics = new Set(topics);
  }

  /**
   * Starts `threads` decode threads and waits until each has compiled the schemas. Schemas with problems reject it
   * with a {@link UsageError} that lists them.
   */
  static async start(threads: number, data: DecodeWorkerData): Promise<DecodePool> {
    const url = new URL('./decode-worker.js', import.meta.url);
    const workers = Array.from(
      { length: threads },
      () => new Worker(url, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } }),
    );
    let topics: string[];
    try {
      [topics] = await Promise.all(
        workers.map(
          (w) =>
            new Promise<string[]>((resolve, reject) => {
              w.once('message', (r: Reply) => {
                if (r.type === 'ready') resolve(r.topics);
                else if (r.type === 'problems') reject(new UsageError(r.message));
                else reject(new Error(`decode threads failed to start: ${r.type === 'error' ? r.message : r.type}`));
              });
              w.once('error', (err) => reject(new Error(`decode threads failed to start: ${err.message}`)));
            }),
        ),
      );
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate().catch(() => undefined)));
      throw err;
    }
    const pool = new DecodePool(workers, topics!);
    workers.forEach((w, i) => {
      w.on('message', (r: Reply) => {
        if (r.type === 'digest') return pool.digested(r.id, r.hex);
        const p = pool.pending[i]!.shift();
        if (!p) return;
        if (r.type === 'decoded') p.resolve(r.decoded);
        else p.reject(new Error(`decode thread failed: ${r.type === 'error' ? r.message : 'unexpected reply'}`));
      });
      const fail = (err: Error): void => pool.fail(new Error(`decode thread failed: ${err.message}`));
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    });
    return pool;
  }

  /** Whether a schema applies to `topic`. */
  hasTopic(topic: string): boolean {
    return this.topics.has(topic);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const queue of this.pending) for (const p of queue.splice(0)) p.reject(this.failure);
    for (const d of this.digests.values()) d.reject(this.failure);
    this.digests.clear();
  }

  private digested(id: number, hex: string): void {
    this.digests.get(id)?.resolve(hex);
    this.digests.delete(id);
  }

  /**
   * A running sha256 kept by the first decode thread, off the calling thread (which, in extract, turns every Kafka
   * message into an object). Bytes in shared memory (what decode threads hand over) are shared, others copied;
   * the thread takes them in the order they are given.
   */
  hashStream(): RunningHash {
    const id = this.nextHash++;
    const worker = this.workers[0]!;
    return {
      update: (bytes) => {
        if (bytes.length === 0 || this.failure) return;
        if (bytes.buffer instanceof SharedArrayBuffer) worker.postMessage({ type: 'hash', id, bytes });
        else {
          const copy = bytes.slice();
          worker.postMessage({ type: 'hash', id, bytes: copy }, [copy.buffer]);
        }
      },
      digest: () =>
        this.failure
          ? Promise.reject(this.failure)
          : new Promise((resolve, reject) => {
              this.digests.set(id, { resolve, reject });
              worker.postMessage({ type: 'digest', id });
            }),
    };
  }

  decode({ batch, transfer }: PackedJob): Promise<DecodedBatch> {
    if (this.failure) return Promise.reject(this.failure);
    const i = this.next;
    this.next = (this.next + 1) % this.workers.length;
    return new Promise((resolve, reject) => {
      this.pending[i]!.push({ resolve, reject });
      this.workers[i]!.postMessage({ type: 'decode', batch }, transfer);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('decode pool closed');
    await Promise.all(this.workers.map((w) => w.terminate().catch(() => undefined)));
  }
}

/**
 * Running hashes on the decode threads of `pool` once it has started (see {@link DecodePool.hashStream}), for a
 * snapshot begun while they start: bytes to hash only exist once the pool decoded them.
 */
export function hashesOn(pool: Promise<DecodePool>): () => RunningHash {
  let started: DecodePool | undefined;
  pool.then((p) => (started = p)).catch(() => undefined);
  return () => {
    let stream: RunningHash | undefined;
    const ready = (): RunningHash => {
      if (!started) throw new Error('a snapshot file was hashed before the decode threads started');
      return (stream ??= started.hashStream());
    };
    return { update: (bytes) => ready().update(bytes), digest: async () => ready().digest() };
  };
}
