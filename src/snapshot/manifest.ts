import { SNAPSHOT_FORMAT_VERSION, type Manifest, type ManifestFile, type SnapshotMeta } from './format.js';
import type { SnapshotTally } from './snapshot-tally.js';
import { withStoredPath, type SnapshotWriter } from './store.js';

/**
 * The manifest of a snapshot whose data files are written: who wrote it and when (`meta`, completed at `now`),
 * its topics sorted, the partition ranges and counts of `tally`, and the files' entries, each with the path the
 * store gave it when that is not its name (see {@link withStoredPath}). Every snapshot builder makes its
 * manifest here, so that they all write the same one.
 */
export function buildManifest(
  writer: SnapshotWriter,
  meta: SnapshotMeta,
  tally: SnapshotTally,
  files: readonly ManifestFile[],
  now: Date,
): Manifest {
  return {
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    snapshotId: meta.snapshotId,
    runId: meta.runId,
    groupId: meta.groupId,
    startedAt: meta.startedAt.toISOString(),
    completedAt: now.toISOString(),
    topics: [...meta.topics].sort(),
    partitions: tally.partitions(),
    counts: tally.counts,
    files: files.map((f) => withStoredPath(f, writer)),
  };
}

/**
 * Writes the manifest ({@link buildManifest}) of a snapshot whose data files are closed, as indented JSON and
 * last, which makes the snapshot complete (the store publishes it atomically). Returns the manifest.
 */
export async function publishManifest(
  writer: SnapshotWriter,
  meta: SnapshotMeta,
  tally: SnapshotTally,
  files: readonly ManifestFile[],
  now: Date,
): Promise<Manifest> {
  const manifest = buildManifest(writer, meta, tally, files, now);
  await writer.publish(JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
