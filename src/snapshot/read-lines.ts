import type { ManifestFile } from './format.js';
import { readVerifiedLineBlocks, readVerifiedLines } from './line-file.js';
import { isNotFound } from './s3-errors.js';
import type { SnapshotStore } from './store.js';

/**
 * The lines of one data file of a complete snapshot, from any store: streamed, sha256 and size checked over
 * the stored bytes, gunzipped when the manifest entry says `compression: 'gzip'`. Throws
 * {@link ChecksumMismatchError} after the last line when the file does not match its entry, so callers must
 * treat the lines as untrusted until the iteration has finished without error (load: inside its transaction).
 */
export function openSnapshotLines(store: SnapshotStore, id: string, file: ManifestFile): AsyncGenerator<string> {
  return missingSaid(readVerifiedLines(store.openRead(id, file.path ?? file.name), file), store, id, file);
}

/** {@link openSnapshotLines} in blocks of lines (no block is empty): what a reader of millions of lines uses. */
export function openSnapshotLineBlocks(store: SnapshotStore, id: string, file: ManifestFile): AsyncGenerator<string[]> {
  return missingSaid(readVerifiedLineBlocks(store.openRead(id, file.path ?? file.name), file), store, id, file);
}

/** A file that the manifest names but the store does not hold: what the reader says instead of ENOENT. */
export class MissingSnapshotFileError extends Error {
  constructor(store: SnapshotStore, id: string, file: ManifestFile) {
    super(
      `${file.path ?? file.name}, which the manifest of snapshot ${id} lists, is missing from ${store.location}: ` +
        `restore the file, or move the snapshot out of --snapshots (the ledger has not recorded it, so nothing of ` +
        `it was loaded)`,
    );
    this.name = 'MissingSnapshotFileError';
  }
}

/** `items`, with a file that is not there (ENOENT, S3's NoSuchKey) said as {@link MissingSnapshotFileError}. */
async function* missingSaid<T>(
  items: AsyncGenerator<T>,
  store: SnapshotStore,
  id: string,
  file: ManifestFile,
): AsyncGenerator<T> {
  try {
    yield* items;
  } catch (err) {
    if (isMissing(err)) throw new MissingSnapshotFileError(store, id, file);
    throw err;
  }
}

/** A file's ENOENT, or an object store's not-found (S3 errors arrive described, with the SDK's error as cause). */
function isMissing(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: unknown };
  return e.code === 'ENOENT' || isNotFound(err) || (e.cause !== undefined && isNotFound(e.cause));
}

export { ChecksumMismatchError } from './line-file.js';
