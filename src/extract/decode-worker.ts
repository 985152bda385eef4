/**
 * A decode thread (see `DecodePool`): loads the schemas once, then decodes the packed batches it is sent and
 * posts back the results, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SchemaRegistry } from '../schema/registry.js';
import { decodeBatch, decodedTransfer, type PackedBatch } from './decode-batch.js';

/** What the pool passes to a decode thread. */
export interface DecodeWorkerData {
  schemasDir: string;
  /** Serialise lines (false in a dry run: only classify). */
  serialise: boolean;
}

const port = parentPort!;
const { schemasDir, serialise } = workerData as DecodeWorkerData;
const { registry, problems } = await SchemaRegistry.load(schemasDir);
if (problems.length) port.postMessage({ type: 'error', message: `schemas in ${schemasDir} have problems` });
else {
  port.on('message', (batch: PackedBatch) => {
    try {
      const decoded = decodeBatch(batch, registry, serialise);
      port.postMessage({ type: 'decoded', decoded }, decodedTransfer(decoded));
    } catch (err) {
      port.postMessage({ type: 'error', message: (err as Error).stack ?? String(err) });
    }
  });
  port.postMessage({ type: 'ready' });
}
