/**
 * A decode thread (see `DecodePool`): loads the schemas once (and says which topics they cover, or what is wrong
 * with them), then decodes the packed batches it is sent and
 * posts back the results, in order. It also keeps running sha256 hashes that the pool asks it to (updated with
 * bytes in the order they are sent, digested on request).
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { SchemaRegistry, schemaProblemsMessage } from '../schema/registry.js';
import { decodeBatch, decodedTransfer, type PackedBatch } from './decode-batch.js';

/** What the pool sends a decode thread: a batch to decode, or bytes to hash, or a hash to digest. */
export type DecodeRequest =
  | { type: 'decode'; batch: PackedBatch }
  | { type: 'hash'; id: number; bytes: Uint8Array }
  | { type: 'digest'; id: number };

/** What the pool passes to a decode thread when starting it. */
export interface DecodeWorkerData {
  schemasDir: string;
  /** Serialise lines (false in a dry run: only classify). */
  serialise: boolean;
}

const port = parentPort!;
const { schemasDir, serialise } = workerData as DecodeWorkerData;
const { registry, problems } = await SchemaRegistry.load(schemasDir);
if (problems.length) port.postMessage({ type: 'problems', message: schemaProblemsMessage(schemasDir, problems) });
else {
  const hashes = new Map<number, Hash>();
  const hashOf = (id: number): Hash => hashes.get(id) ?? hashes.set(id, createHash('sha256')).get(id)!;
  port.on('message', (r: DecodeRequest) => {
    try {
      if (r.type === 'hash') hashOf(r.id).update(r.bytes);
      else if (r.type === 'digest') {
        port.postMessage({ type: 'digest', id: r.id, hex: hashOf(r.id).digest('hex') });
        hashes.delete(r.id);
      } else {
        const decoded = decodeBatch(r.batch, registry, serialise);
        port.postMessage({ type: 'decoded', decoded }, decodedTransfer(decoded));
      }
    } catch (err) {
      port.postMessage({ type: 'error', message: (err as Error).stack ?? String(err) });
    }
  });
  port.postMessage({ type: 'ready', topics: registry.topics() });
}
