import type { ManifestFile } from './format.js';
import { readVerifiedLineBlocks, readVerifiedLines } from './line-file.js';
import type { SnapshotStore } from './store.js';

/**
 * The lines of one data file of a complete snapshot, from any store: streamed, sha256 and size checked over
 * the stored bytes, gunzipped when the manifest entry says `compression: 'gzip'`. Throws
 * {@link ChecksumMismatchError} after the last line when the file does not match its entry, so callers must
 * treat the lines as untrusted until the iteration has finished without error (load: inside its transaction).
 */
export function openSnapshotLines(store: SnapshotStore, id: string, file: ManifestFile): AsyncGenerator<string> {
  return readVerifiedLines(store.openRead(id, file.path ?? file.name), file);
}

/** {@link openSnapshotLines} in blocks of lines (no block is empty): what a reader of millions of lines uses. */
export function openSnapshotLineBlocks(store: SnapshotStore, id: string, file: ManifestFile): AsyncGenerator<string[]> {
  return readVerifiedLineBlocks(store.openRead(id, file.path ?? file.name), file);
}

export { ChecksumMismatchError } from './line-file.js';
