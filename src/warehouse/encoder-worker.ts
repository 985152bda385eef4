/**
 * An encoder worker thread (started by {@link WorkerEncoderPool}): loads the same schemas as the loader, then
 * encodes blocks of snapshot lines and sends the rows back as transferred buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SchemaRegistry } from '../schema/registry.js';
import type { EncodeRequest, EncodeResponse, EncoderSetup } from './encoder-pool.js';
import { SnapshotLineEncoder } from './line-encoder.js';

const port = parentPort;
if (!port) throw new Error('encoder-worker must run as a worker thread');
const setup = workerData as EncoderSetup;

const post = (m: EncodeResponse, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

const { registry, problems } = await SchemaRegistry.load(setup.schemasDir);
const changed = registry.schemas.filter((s) => setup.schemaHashes[s.name] !== s.sha256).map((s) => s.name);
if (problems.length || changed.length || registry.schemas.length !== Object.keys(setup.schemaHashes).length)
  post({ fatal: `the schemas under ${setup.schemasDir} changed while loading; run the load again` });
else {
  let current: { id: string; encoder: SnapshotLineEncoder } | undefined;
  port.on('message', (req: EncodeRequest) => {
    try {
      if (current?.id !== req.snapshotId)
        current = { id: req.snapshotId, encoder: new SnapshotLineEncoder(registry, setup.eventTables, req.snapshotId) };
      const block = current.encoder.encode(req.kind, req.text.split('\n'), req.firstLineNo);
      const transfer: ArrayBuffer[] = [];
      for (const t of block.tables) if (t) transfer.push(t.data.buffer as ArrayBuffer, t.ends.buffer as ArrayBuffer);
      post({ id: req.id, block }, transfer);
    } catch (err) {
      post({ id: req.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  post({ ready: true });
}
