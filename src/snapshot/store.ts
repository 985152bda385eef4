import type { Readable, Writable } from 'node:stream';
import { EventfulError, ExitCode } from '../basics/errors.js';
import type { Manifest, ManifestFile } from './format.js';

/** A complete snapshot found in a store: its manifest and the manifest's exact bytes. */
export interface SnapshotRef {
  id: string;
  manifest: Manifest;
  /** The manifest file's bytes, as stored: its sha256 is the snapshot's identity in the load ledger. */
  manifestText: string;
}

/** What a store lists: complete snapshots oldest first, and ids without a manifest (skipped with a warning). */
export interface SnapshotListing {
  complete: SnapshotRef[];
  incomplete: string[];
  /** Snapshots whose manifest could not be read or parsed, with the reason. */
  unreadable: Array<{ id: string; reason: string }>;
}

/**
 * The order of snapshot ids: the order of their folders' names, `<id>/`, which is how an object store lists them
 * (S3 lists keys in byte order, and `a-b/` comes before `a/`, since `-` sorts before `/`). Every store lists in it
 * and every range and floor is compared in it, so that no id falls between a page and the next.
 */
export function compareIds(a: string, b: string): number {
  const [x, y] = [`${a}/`, `${b}/`];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Which ids {@link SnapshotStore.listIds} lists: those at or after `from` in {@link compareIds} order, the first `limit`. */
export interface IdRange {
  from?: string;
  limit?: number;
}

/** The ids of `ids` within `range`, in {@link compareIds} order (for stores that list every name at once). */
export function idsInRange(ids: readonly string[], range: IdRange = {}): string[] {
  const from = range.from ?? '';
  const sorted = ids.filter((id) => compareIds(id, from) >= 0).sort(compareIds);
  return range.limit === undefined ? sorted : sorted.slice(0, range.limit);
}

/** Writes one snapshot: data files first, the manifest last and atomically. */
export interface SnapshotWriter {
  /** Opens a data file of the snapshot for writing. */
  openFile(name: string): Writable;
  /** Makes every data file durable, then writes the manifest so the snapshot becomes complete. Never overwrites. */
  publish(manifestText: string): Promise<void>;
  /** Removes whatever the attempt wrote. Safe to call after a failure at any point. */
  abort(): Promise<void>;
  /**
   * Where `openFile(name)` stores the file, relative to the snapshot, when that is not `name` itself
   * (an object store keeps each attempt's files apart). The builder records it as the manifest entry's `path`.
   */
  pathOf?(name: string): string;
}

/**
 * The seam between extract/load and where snapshots live (a directory now, an object store later).
 * Nothing else in extract or load knows which implementation it talks to.
 */
export interface SnapshotStore {
  /** A human-readable location, for logs (never holds credentials). */
  readonly location: string;
  /**
   * The ids of the snapshots in the store, complete or not (hidden folders left out), in {@link compareIds} order: names
   * only, no manifest read, so its cost is a listing (one request per 1,000 in an object store), not a read per
   * snapshot. `range` narrows it to the ids from `range.from` on, the first `range.limit` of them: an object store
   * then lists from that key on, so the cost follows the ids listed, not the store's age (see listing-floor.ts).
   */
  listIds(range?: IdRange): Promise<string[]>;
  /**
   * Reads the manifests of the snapshots `ids` (default: every id of {@link listIds}) into a listing. A load reads
   * only those its ledger has not recorded, so that its cost follows the new snapshots, not the store's age.
   */
  list(ids?: readonly string[]): Promise<SnapshotListing>;
  /**
   * Makes what a writer needs before any snapshot is written (a folder store: its root folder), so that a load
   * after a first extract that found nothing new finds an empty store, not a missing one. S3 needs nothing (opening
   * the store listed it). On a `dryRun`, makes nothing but checks that it could (a folder store: that the nearest
   * existing folder of its path may be written), so that a dry run fails where the real run would.
   */
  prepare(dryRun?: boolean): Promise<void>;
  openRead(id: string, name: string): Readable;
  beginWrite(id: string): Promise<SnapshotWriter>;
}

/**
 * A data file's manifest entry with where the writer stored it, when that is not its name (see
 * {@link SnapshotWriter.pathOf}). Every snapshot builder must pass its entries through this: an object store
 * refuses to publish a manifest that does not say where its files are.
 */
export function withStoredPath(file: ManifestFile, writer: SnapshotWriter): ManifestFile {
  const stored = writer.pathOf?.(file.name);
  return stored !== undefined && stored !== file.name ? { ...file, path: stored } : file;
}

/** The order every store lists complete snapshots in: oldest first by start time, then by id. */
export function compareSnapshotRefs(a: SnapshotRef, b: SnapshotRef): number {
  return a.manifest.startedAt === b.manifest.startedAt
    ? a.id.localeCompare(b.id)
    : a.manifest.startedAt.localeCompare(b.manifest.startedAt);
}

/**
 * `publish()` found the snapshot already complete: an earlier attempt with the same id published it (the
 * directory exists, or the object store refused the conditional create of the manifest). Nothing of this
 * attempt was made visible; its offsets must not be committed. `abort()` cleans up after it as usual.
 */
export class SnapshotExistsError extends EventfulError {
  constructor(
    readonly snapshotId: string,
    where: string,
  ) {
    super(
      `snapshot ${snapshotId} already exists at ${where}: another attempt with the same id completed it first; ` +
        `refusing to overwrite it (this attempt's data is discarded and nothing is committed)`,
      ExitCode.Failure,
      'snapshot_exists',
    );
    this.name = 'SnapshotExistsError';
  }
}

/** Leftovers of one failed or killed write attempt that `prune` lists and removes. */
export interface PruneCandidate {
  /** The snapshot id the attempt wrote. */
  id: string;
  /** What is removed: a folder path, or an object key prefix as `s3://bucket/prefix/` (never credentials). */
  location: string;
  /** Files or objects under it (multipart uploads never completed count as one each). */
  objects: number;
  bytes: number;
  /** When it was last written to, ISO 8601 UTC: older than the grace period, or it would not be listed. */
  lastModified: string;
}

/** What `prune` found and did. */
export interface PruneReport {
  dryRun: boolean;
  /** Only leftovers last written before this time were considered, ISO 8601 UTC. */
  cutoff: string;
  candidates: PruneCandidate[];
  /** Candidates removed (0 in a dry run). */
  removed: number;
  /**
   * What an S3 store listed: from its floor on (null: all of it, the first run or a floor that could not be read),
   * the objects listed, and how many of them the sweep below the floor listed (see prune-floor.ts).
   */
  listing?: { from: string | null; objects: number; swept: number };
  /** What went wrong after the leftovers were removed (the floor not kept): logged as a warning. */
  warning?: string;
}

/** A store that can find and remove what failed or killed write attempts left behind. */
export interface PrunableSnapshotStore extends SnapshotStore {
  /**
   * Lists (and unless `dryRun`, removes) the leftovers of write attempts that never completed and were last
   * written more than `graceMs` ago. Never touches a complete snapshot's data.
   */
  prune(graceMs: number, dryRun: boolean, now?: Date): Promise<PruneReport>;
}
