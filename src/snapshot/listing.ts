import { parseManifest } from './format.js';
import type { SnapshotListing, SnapshotRef } from './store.js';

/** A listing with nothing in it yet; every store's `list()` starts from one. */
export function emptyListing(): SnapshotListing {
  return { complete: [], incomplete: [], unreadable: [] };
}

/**
 * Files one snapshot in a store's listing by its manifest: `incomplete` when it has none (`text` undefined),
 * `complete` when the manifest parses, `unreadable` with the reason when it does not. Returns the complete
 * snapshot's ref, if any.
 *
 * @param where - the manifest's location, named in the reason when it does not parse.
 */
export function addToListing(
  listing: SnapshotListing,
  id: string,
  text: string | undefined,
  where: string,
): SnapshotRef | undefined {
  if (text === undefined) {
    listing.incomplete.push(id);
    return undefined;
  }
  try {
    const ref: SnapshotRef = { id, manifest: parseManifest(text, where), manifestText: text };
    listing.complete.push(ref);
    return ref;
  } catch (err) {
    listing.unreadable.push({ id, reason: (err as Error).message });
    return undefined;
  }
}
