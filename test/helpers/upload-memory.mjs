// Run with `node --expose-gc test/helpers/upload-memory.mjs <location> <MiB>` (after `npm run build`): writes one
// snapshot of about <MiB> of events through the compiled store and builder, sampling the memory that is live
// after a full garbage collection while it uploads. Prints one JSON line: { fileBytes, livePeakBytes, baselineBytes }.
import { openSnapshotStore } from '../../dist/snapshot/open-store.js';
import { SnapshotBuilder } from '../../dist/snapshot/snapshot-builder.js';

const [location, mib] = process.argv.slice(2);
const store = await openSnapshotStore(location);
const payload = 'x'.repeat(900);
const event = (offset) => ({
  topic: 't',
  partition: 0,
  offset,
  timestamp: 1,
  key: null,
  headers: [],
  value: { payload },
});
const count = Math.ceil((Number(mib) * 1024 * 1024) / (JSON.stringify(event(0)).length + 1));
const live = () => {
  globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const baselineBytes = live();
let livePeakBytes = baselineBytes;
const sampler = setInterval(() => (livePeakBytes = Math.max(livePeakBytes, live())), 100);
const builder = await SnapshotBuilder.begin(store, {
  snapshotId: 'memory',
  runId: 'memory',
  groupId: 'g',
  startedAt: new Date(),
  topics: ['t'],
});
for (let i = 0; i < count; i++) await builder.addEvent(event(i), Number.MAX_SAFE_INTEGER);
const manifest = await builder.publish();
clearInterval(sampler);
store.close();
console.log(JSON.stringify({ fileBytes: manifest.files[0].bytes, livePeakBytes, baselineBytes }));
