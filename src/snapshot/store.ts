import type { Readable, Writable } from 'node:stream';
import type { Manifest } from './format.js';

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

/** Writes one snapshot: data files first, the manifest last and atomically. */
export interface SnapshotWriter {
  /** Opens a data file of the snapshot for writing. */
  openFile(name: string): Writable;
  /** Makes every data file durable, then writes the manifest so the snapshot becomes complete. Never overwrites. */
  publish(manifestText: string): Promise<void>;
  /** Removes whatever the attempt wrote. Safe to call after a failure at any point. */
  abort(): Promise<void>;
}

/**
 * The seam between extract/load and where snapshots live (a directory now, an object store later).
 * Nothing else in extract or load knows which implementation it talks to.
 */
export interface SnapshotStore {
  /** A human-readable location, for logs (never holds credentials). */
  readonly location: string;
  list(): Promise<SnapshotListing>;
  openRead(id: string, name: string): Readable;
  beginWrite(id: string): Promise<SnapshotWriter>;
}
