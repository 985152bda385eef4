import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { MANIFEST_FILE, parseManifest } from './format.js';
import { addToListing, emptyListing } from './listing.js';
import {
  idOfKey,
  parsePruneFloor,
  PRUNE_FLOOR_OBJECT,
  raisedFloor,
  SWEEP_KEYS,
  type PruneFloor,
} from './prune-floor.js';
import { describeS3Error, httpStatus, isNotFound } from './s3-errors.js';
import { formatS3Location, type S3Location } from './s3-location.js';
import { S3SnapshotWriter } from './s3-writer.js';
import {
  compareIds,
  compareSnapshotRefs,
  idsInRange,
  SnapshotExistsError,
  type IdRange,
  type PrunableSnapshotStore,
  type PruneCandidate,
  type PruneReport,
  type SnapshotListing,
  type SnapshotWriter,
} from './store.js';

/** How long the first request (a one-key listing) may take before the store counts as unreachable. */
export const OPEN_TIMEOUT_MS = 20_000;
/** Manifests fetched at once while listing, and objects deleted at once while pruning. */
const CONCURRENCY = 16;
/** Each write attempt's data files live in `<id>/attempt-<random>/`. */
export const ATTEMPT_DIR_PREFIX = 'attempt-';
const ATTEMPT_RANDOM_BYTES = 6;
const HTTP_NOT_IMPLEMENTED = 501;
/** The most entries a ListObjectsV2 page holds. */
const MAX_LIST_KEYS = 1000;
// A snapshot id or file name becomes part of a key: plain segments only, never `..`.
const SAFE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function checkSegments(what: string, value: string): void {
  if (!value.split('/').every((s) => SAFE_SEGMENT.test(s)))
    throw new Error(`${what} '${value}' is not a plain name (letters, digits, '.', '_', '-')`);
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** One object, as listing returns it. */
interface ObjectEntry {
  key: string;
  bytes: number;
  lastModified: number;
}

/** The objects of one snapshot id under the root: whether its manifest is there, and the rest by folder. */
interface SnapshotObjects {
  manifest: boolean;
  folders: Map<string, ObjectEntry[]>;
}

/** One prune candidate and what removing it takes: objects to delete, multipart uploads to abort. */
interface Doomed {
  candidate: PruneCandidate;
  keys: string[];
  uploads: Array<{ key: string; id: string }>;
}

/** Objects under `root` by snapshot id, then by the folder below it ('' for files right in it). */
function bySnapshot(root: string, objects: readonly ObjectEntry[]): Map<string, SnapshotObjects> {
  const byId = new Map<string, SnapshotObjects>();
  for (const o of objects) {
    const parts = o.key.slice(root.length).split('/');
    const id = parts[0]!;
    if (parts.length < 2 || id === '' || id.startsWith('.')) continue;
    const entry = byId.get(id) ?? { manifest: false, folders: new Map<string, ObjectEntry[]>() };
    byId.set(id, entry);
    if (parts.length === 2 && parts[1] === MANIFEST_FILE) entry.manifest = true;
    else {
      const folder = parts.length > 2 ? parts[1]! : '';
      entry.folders.set(folder, [...(entry.folders.get(folder) ?? []), o]);
    }
  }
  return byId;
}

/**
 * Snapshots in an S3-compatible bucket under a key prefix (`s3://bucket/prefix/`), with the directory store's
 * guarantees: `<prefix><id>/manifest.json` exists iff the snapshot is complete; it is written last, by a
 * conditional create, after every data file of the attempt is stored (see {@link S3SnapshotWriter}).
 * `location` may also name one snapshot (a prefix holding a manifest): then only that one is listed.
 */
export class S3SnapshotStore implements PrunableSnapshotStore {
  /** Where list() found each complete snapshot's files, so `openRead(id, name)` works with names too. */
  private readonly paths = new Map<string, Map<string, string>>();

  private constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    /** The key prefix that holds snapshot folders: '' or ending in '/'. */
    readonly root: string,
    private readonly only: string | undefined,
    /** Where requests go, for messages. */
    private readonly endpoint: string,
  ) {}

  get location(): string {
    return formatS3Location(this.bucket, this.only ? `${this.root}${this.only}/` : this.root);
  }

  /**
   * Opens the store at `location`. Makes one listing request, so that a wrong key pair, a missing bucket or an
   * unreachable endpoint fails here, before any work, with a message that says what to fix.
   */
  static async open(client: S3Client, location: S3Location, endpoint: string): Promise<S3SnapshotStore> {
    const { bucket, prefix } = location;
    const manifestKey = prefix + MANIFEST_FILE;
    let isSnapshot: boolean;
    // An endpoint that accepts connections but never answers would otherwise take the client's idle timeout on
    // every try (~99 s); a one-key listing answers in milliseconds when the store is there.
    const signal = AbortSignal.timeout(OPEN_TIMEOUT_MS);
    try {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: manifestKey, MaxKeys: 1 }), {
        abortSignal: signal,
      });
      isSnapshot = (page.Contents ?? []).some((o) => o.Key === manifestKey);
    } catch (err) {
      const cause = signal.aborted
        ? Object.assign(new Error(`no answer within ${OPEN_TIMEOUT_MS / 1000} s`), { name: 'TimeoutError' })
        : err;
      throw describeS3Error(cause, `opening ${formatS3Location(bucket, prefix)}`, endpoint);
    }
    if (isSnapshot && prefix !== '') {
      const parts = prefix.slice(0, -1).split('/');
      const id = parts.pop()!;
      return new S3SnapshotStore(client, bucket, parts.length ? parts.join('/') + '/' : '', id, endpoint);
    }
    return new S3SnapshotStore(client, bucket, prefix, undefined, endpoint);
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }

  private fail(err: unknown, what: string, key = this.root): Error {
    return describeS3Error(err, `${what} ${formatS3Location(this.bucket, key)}`, this.endpoint);
  }

  /**
   * Pages through ListObjectsV2 under `prefix`, with `/` as delimiter or without, from after key `startAfter` on,
   * `maxKeys` entries a page (default: S3's 1,000).
   */
  private async *listPages(
    prefix: string,
    delimited: boolean,
    startAfter?: string,
    maxKeys?: number,
  ): AsyncGenerator<{ objects: ObjectEntry[]; folders: string[] }> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(delimited ? { Delimiter: '/' } : {}),
            ...(startAfter ? { StartAfter: startAfter } : {}),
            ...(maxKeys ? { MaxKeys: maxKeys } : {}),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (err) {
        throw this.fail(err, 'listing', prefix);
      }
      yield {
        objects: (page.Contents ?? []).map((o) => ({
          key: o.Key ?? '',
          bytes: o.Size ?? 0,
          lastModified: o.LastModified?.getTime() ?? 0,
        })),
        folders: (page.CommonPrefixes ?? []).map((p) => p.Prefix ?? '').filter((p) => p !== ''),
      };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Snapshot ids: the folders right under the root (one request per 1,000), hidden ones left out. With
   * `range.from`, the listing starts right before that id's folder (S3 lists keys in order: `<from>/` follows the
   * key `<from>`), so older ids cost nothing.
   */
  async listIds(range: IdRange = {}): Promise<string[]> {
    if (this.only) return idsInRange([this.only], range);
    const ids: string[] = [];
    const startAfter = range.from ? this.root + range.from : undefined;
    const pageKeys = range.limit === undefined ? undefined : Math.min(range.limit, MAX_LIST_KEYS);
    for await (const page of this.listPages(this.root, true, startAfter, pageKeys)) {
      for (const folder of page.folders) {
        const id = folder.slice(this.root.length, -1);
        // Listing starts after the key `<from>`, so folders `<from>-x/`, which come before `<from>/`, are left out.
        if (id && !id.startsWith('.') && compareIds(id, range.from ?? '') >= 0) ids.push(id);
      }
      if (range.limit !== undefined && ids.length >= range.limit) break;
    }
    return idsInRange(ids, range);
  }

  /** Nothing to make: a key prefix needs no folder. */
  async prepare(): Promise<void> {}

  /** A manifest's text, or undefined when there is none. */
  private readManifest(id: string): Promise<string | undefined> {
    return this.readText(`${this.root}${id}/${MANIFEST_FILE}`);
  }

  /** A small object's text, or undefined when there is none. */
  private async readText(key: string): Promise<string | undefined> {
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await got.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.fail(err, 'reading', key);
    }
  }

  async list(ids?: readonly string[]): Promise<SnapshotListing> {
    const listing = emptyListing();
    await forEachLimit(ids ?? (await this.listIds()), CONCURRENCY, async (id) => {
      const text = await this.readManifest(id);
      const where = formatS3Location(this.bucket, `${this.root}${id}/${MANIFEST_FILE}`);
      const ref = addToListing(listing, id, text, where);
      if (ref) this.paths.set(id, new Map(ref.manifest.files.filter((f) => f.path).map((f) => [f.name, f.path!])));
    });
    listing.complete.sort(compareSnapshotRefs);
    listing.incomplete.sort();
    listing.unreadable.sort((a, b) => a.id.localeCompare(b.id));
    return listing;
  }

  /**
   * Streams one stored file. `name` is the manifest entry's `path` (or its `name`, which works for snapshots
   * that list() returned). Errors, a missing object included, arrive as the stream's error.
   */
  openRead(id: string, name: string): Readable {
    const out = new PassThrough();
    const stored = this.paths.get(id)?.get(name) ?? name;
    let key: string;
    try {
      checkSegments('snapshot id', id);
      checkSegments('file', stored);
      key = `${this.root}${id}/${stored}`;
    } catch (err) {
      process.nextTick(() => out.destroy(err as Error));
      return out;
    }
    this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })).then(
      (got) => {
        const body = got.Body as Readable | undefined;
        if (!body) return out.end();
        // A broken download becomes a described error; a reader that stops early releases the connection.
        body.once('error', (err) => out.destroy(this.fail(err, 'reading', key)));
        out.once('close', () => body.destroy());
        body.pipe(out);
        return undefined;
      },
      (err: unknown) => out.destroy(this.fail(err, 'reading', key)),
    );
    return out;
  }

  async beginWrite(id: string): Promise<SnapshotWriter> {
    checkSegments('snapshot id', id);
    const snapshotPrefix = `${this.root}${id}/`;
    const manifestKey = snapshotPrefix + MANIFEST_FILE;
    // Refuse at once when an earlier attempt completed this id (the conditional create would refuse it at the end).
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: manifestKey }));
      throw new SnapshotExistsError(id, formatS3Location(this.bucket, snapshotPrefix));
    } catch (err) {
      if (err instanceof SnapshotExistsError) throw err;
      if (!isNotFound(err)) throw this.fail(err, 'checking', manifestKey);
    }
    return new S3SnapshotWriter({
      client: this.client,
      bucket: this.bucket,
      snapshotPrefix,
      snapshotId: id,
      attemptDir: ATTEMPT_DIR_PREFIX + randomBytes(ATTEMPT_RANDOM_BYTES).toString('hex'),
      endpoint: this.endpoint,
    });
  }

  /**
   * Lists (and unless `dryRun`, deletes) what failed or killed attempts left: data objects of an attempt folder
   * that no manifest names (snapshots never completed, or attempts that lost the race for a manifest), and
   * multipart uploads never completed, when last written more than `graceMs` ago. A complete snapshot's
   * manifest and the files it names are never touched. Lists from the lake's floor on, and one sweep page below
   * it (see prune-floor.ts) of about `sweepKeys` objects.
   */
  async prune(graceMs: number, dryRun: boolean, now: Date = new Date(), sweepKeys = SWEEP_KEYS): Promise<PruneReport> {
    const cutoff = now.getTime() - graceMs;
    const report: PruneReport = { dryRun, cutoff: new Date(cutoff).toISOString(), candidates: [], removed: 0 };
    // A store opened on one snapshot owns nothing else.
    if (this.only) return report;
    const saved = await this.readPruneFloor(now);
    const listed = await this.listForPrune(saved, sweepKeys);
    report.listing = { from: saved?.floor ?? null, objects: listed.objects.length, swept: listed.swept };
    const doomed = [
      ...(await this.orphanFolders(bySnapshot(this.root, listed.objects), cutoff)),
      ...(await this.staleUploadsDoomed(cutoff)),
    ];
    report.candidates = doomed.map((d) => d.candidate);
    if (dryRun) return report;
    await forEachLimit(doomed, CONCURRENCY, async (d) => {
      await this.remove(d);
      report.removed += 1;
    });
    // An empty prefix (a lake not written yet, or a mistyped one) gets no floor: writing one would make the prefix.
    if (!saved && listed.objects.length === 0) return report;
    const floor: PruneFloor = { floor: raisedFloor(saved?.floor, now, graceMs), sweepFrom: listed.sweepFrom };
    const warning = await this.writePruneFloor(floor);
    return warning ? { ...report, warning } : report;
  }

  /**
   * The objects a prune looks at: every one without a floor; else those from the floor on and one sweep page
   * below it. Returns them, how many of them the sweep listed, and where the next sweep goes on.
   */
  private async listForPrune(
    saved: PruneFloor | undefined,
    sweepKeys: number,
  ): Promise<{ objects: ObjectEntry[]; swept: number; sweepFrom: string }> {
    const objects: ObjectEntry[] = [];
    const from = saved ? this.root + saved.floor : undefined;
    for await (const page of this.listPages(this.root, false, from)) objects.push(...page.objects);
    if (!saved) return { objects, swept: 0, sweepFrom: '' };
    const sweep = await this.sweepBelow(saved, sweepKeys);
    return { objects: [...sweep.objects, ...objects], swept: sweep.objects.length, sweepFrom: sweep.next };
  }

  /**
   * About `sweepKeys` objects below the floor, whole snapshot ids, from after `sweepFrom` on, and where the next
   * sweep goes on: the last key listed, or '' (the bottom) once the sweep reached the floor.
   */
  private async sweepBelow(saved: PruneFloor, sweepKeys: number): Promise<{ objects: ObjectEntry[]; next: string }> {
    const end = this.root + saved.floor;
    const objects: ObjectEntry[] = [];
    const after = saved.sweepFrom ? this.root + saved.sweepFrom : undefined;
    for await (const page of this.listPages(this.root, false, after))
      for (const o of page.objects) {
        if (o.key >= end) return { objects, next: '' };
        const last = objects.at(-1);
        // Stop between two ids, never inside one: an id's files and its manifest are judged together.
        if (last && objects.length >= sweepKeys && idOfKey(this.root, last.key) !== idOfKey(this.root, o.key))
          return { objects, next: last.key.slice(this.root.length) };
        objects.push(o);
      }
    return { objects, next: '' };
  }

  /** The lake's prune floor, or undefined when it has none (or one that is not a floor). */
  private async readPruneFloor(now: Date): Promise<PruneFloor | undefined> {
    const text = await this.readText(this.root + PRUNE_FLOOR_OBJECT);
    return text === undefined ? undefined : parsePruneFloor(text, now);
  }

  /** Keeps the floor for the next run. On failure, says so: the next run lists from the old floor. */
  private async writePruneFloor(floor: PruneFloor): Promise<string | undefined> {
    const key = this.root + PRUNE_FLOOR_OBJECT;
    try {
      const body = JSON.stringify(floor);
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' }),
      );
      return undefined;
    } catch (err) {
      return `could not keep the prune floor: ${this.fail(err, 'writing', key).message}; the next prune lists from the old one`;
    }
  }

  /**
   * The attempt folders whose objects no manifest names, last written before `cutoff`. Beside a manifest, one
   * folder is the winner's; with more, the manifest says which files are its, and a manifest that cannot be read
   * keeps everything beside it.
   */
  private async orphanFolders(byId: Map<string, SnapshotObjects>, cutoff: number): Promise<Doomed[]> {
    const doomed: Doomed[] = [];
    for (const [id, entry] of [...byId].sort(([a], [b]) => a.localeCompare(b))) {
      let keep = new Set<string>();
      if (entry.manifest) {
        if (entry.folders.size <= 1) continue;
        const text = await this.readManifest(id);
        if (text === undefined) continue;
        try {
          keep = new Set(parseManifest(text, id).files.map((f) => `${this.root}${id}/${f.path ?? f.name}`));
        } catch {
          continue; // never delete beside a manifest that cannot be read
        }
      }
      for (const [folder, objects] of entry.folders) {
        const orphans = objects.filter((o) => !keep.has(o.key));
        if (orphans.length === 0 || orphans.length < objects.length) continue;
        const newest = Math.max(...orphans.map((o) => o.lastModified));
        if (newest >= cutoff) continue;
        const where = folder ? `${this.root}${id}/${folder}/` : `${this.root}${id}/`;
        doomed.push({
          candidate: {
            id,
            location: formatS3Location(this.bucket, where),
            objects: orphans.length,
            bytes: orphans.reduce((n, o) => n + o.bytes, 0),
            lastModified: new Date(newest).toISOString(),
          },
          keys: orphans.map((o) => o.key),
          uploads: [],
        });
      }
    }
    return doomed;
  }

  /** The unfinished multipart uploads started before `cutoff`, as prune candidates. */
  private async staleUploadsDoomed(cutoff: number): Promise<Doomed[]> {
    return (await this.staleUploads(cutoff)).map((stale) => ({
      candidate: {
        id: stale.key.slice(this.root.length).split('/')[0] ?? '',
        location: formatS3Location(this.bucket, stale.key) + ' (unfinished multipart upload)',
        objects: 1,
        bytes: 0,
        lastModified: new Date(stale.initiated).toISOString(),
      },
      keys: [],
      uploads: [{ key: stale.key, id: stale.uploadId }],
    }));
  }

  /** Deletes one candidate's objects and aborts its uploads; what is already gone is fine. */
  private async remove(d: Doomed): Promise<void> {
    for (const key of d.keys)
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      } catch (err) {
        if (!isNotFound(err)) throw this.fail(err, 'deleting', key);
      }
    for (const u of d.uploads)
      try {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.key, UploadId: u.id }));
      } catch (err) {
        if (!isNotFound(err)) throw this.fail(err, 'aborting the upload of', u.key);
      }
  }

  /**
   * Multipart uploads under the root started before `cutoff` and never completed (a killed extract's).
   * Stores that do not list them (answering NotImplemented) have none to report.
   */
  private async staleUploads(cutoff: number): Promise<Array<{ key: string; uploadId: string; initiated: number }>> {
    const stale: Array<{ key: string; uploadId: string; initiated: number }> = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.root,
            ...(keyMarker ? { KeyMarker: keyMarker } : {}),
            ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}),
          }),
        );
      } catch (err) {
        if ((err as Error).name === 'NotImplemented' || httpStatus(err) === HTTP_NOT_IMPLEMENTED) return stale;
        throw this.fail(err, 'listing multipart uploads under');
      }
      for (const u of page.Uploads ?? []) {
        const initiated = u.Initiated?.getTime() ?? 0;
        if (u.Key && u.UploadId && initiated < cutoff) stale.push({ key: u.Key, uploadId: u.UploadId, initiated });
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return stale;
  }
}
