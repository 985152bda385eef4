import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { GZIP_SUFFIX, MANIFEST_FILE } from './format.js';
import { describeS3Error, isConditionalConflict, isNotFound, isPreconditionFailed } from './s3-errors.js';
import { formatS3Location } from './s3-location.js';
import { S3PartWriter } from './s3-part-writer.js';
import { SnapshotExistsError, type SnapshotWriter } from './store.js';

/**
 * Part size of multipart uploads: S3's minimum, for the smallest memory. A file may have at most 10,000 parts, so
 * one snapshot file can hold up to ~48 GiB (bound bigger drains with --max-messages). An upload holds
 * `(UPLOAD_QUEUE + 1)` part buffers, reused, whatever the file's size (see S3PartWriter).
 */
export const UPLOAD_PART_BYTES = 5 * 1024 * 1024;
/** Parts of one file uploaded at once (more did not upload faster here, and costs a part of memory each). */
export const UPLOAD_QUEUE = 2;
/** AWS answers 409 ConditionalRequestConflict while another conditional write of the key is in flight. */
const CONFLICT_RETRIES = 3;
const CONFLICT_BACKOFF_MS = 250;

/** Where a writer puts things; shared with the store that made it. */
export interface S3WriteTarget {
  client: S3Client;
  bucket: string;
  /** `<root><id>/`: the snapshot's key prefix. */
  snapshotPrefix: string;
  snapshotId: string;
  /** This attempt's folder under the snapshot, `attempt-<random>`: data keys are unique per attempt. */
  attemptDir: string;
  /** For messages. */
  endpoint: string;
}

interface UploadingFile {
  name: string;
  key: string;
  body: S3PartWriter;
  /** Settles when the object is stored, or rejects with a described error. */
  done: Promise<void>;
}

/**
 * Writes one snapshot into an object store. Data files stream through multipart uploads into this attempt's
 * own folder (`<id>/attempt-<random>/events.ndjson`), so two attempts of one id never write the same key;
 * `publish()` waits for every upload, then creates `<id>/manifest.json` with `If-None-Match: *`: the first
 * attempt to get there wins, and its manifest names its own files. A losing or failed attempt's files are
 * deleted by `abort()`, or later by `prune`.
 */
export class S3SnapshotWriter implements SnapshotWriter {
  private readonly files: UploadingFile[] = [];
  private state: 'open' | 'published' | 'aborted' = 'open';
  /** The manifest publish() tried to create, once it got that far; and whether the store refused it (412). */
  private manifestText: string | undefined;
  private manifestRefused = false;

  constructor(private readonly target: S3WriteTarget) {}

  private get where(): string {
    return formatS3Location(this.target.bucket, this.target.snapshotPrefix);
  }

  pathOf(name: string): string {
    return `${this.target.attemptDir}/${name}`;
  }

  openFile(name: string): Writable {
    if (this.state !== 'open') throw new Error(`snapshot ${this.target.snapshotId}: openFile after ${this.state}`);
    const { client, bucket, endpoint } = this.target;
    const key = this.target.snapshotPrefix + this.pathOf(name);
    const body = new S3PartWriter(
      {
        client,
        bucket,
        key,
        contentType: name.endsWith(GZIP_SUFFIX) ? 'application/gzip' : 'application/x-ndjson',
        describe: (err) => describeS3Error(err, `uploading ${formatS3Location(bucket, key)}`, endpoint),
      },
      { partBytes: UPLOAD_PART_BYTES, queue: UPLOAD_QUEUE },
    );
    // Failures surface through `done` (and to the line writer through its own listener): never as a crash.
    body.on('error', () => undefined);
    // Settles when the object is stored (the stream finished), or rejects with the described failure.
    const done = new Promise<void>((resolve, reject) => {
      body.once('finish', resolve);
      body.once('close', () => reject(body.errored ?? new Error(`uploading ${key} stopped before it finished`)));
    });
    // Observed by publish() or abort(); never an unhandled rejection meanwhile.
    done.catch(() => undefined);
    this.files.push({ name, key, body, done });
    return body;
  }

  async publish(manifestText: string): Promise<void> {
    if (this.state !== 'open') throw new Error(`snapshot ${this.target.snapshotId}: publish after ${this.state}`);
    this.checkPaths(manifestText);
    for (const f of this.files) await f.done;
    this.manifestText = manifestText;
    await this.createManifest(manifestText);
    this.state = 'published';
  }

  /** Refuses a manifest that does not say where this attempt stored its files: it would name missing objects. */
  private checkPaths(manifestText: string): void {
    const files = (JSON.parse(manifestText) as { files?: Array<{ name?: unknown; path?: unknown }> }).files ?? [];
    for (const f of this.files) {
      const entry = files.find((e) => e.name === f.name);
      if (entry && entry.path !== this.pathOf(f.name))
        throw new Error(
          `snapshot ${this.target.snapshotId}: the manifest does not record where ${f.name} is stored ` +
            `(path "${this.pathOf(f.name)}"); the snapshot builder must pass its file entries through withStoredPath()`,
        );
    }
  }

  /** Conditional create of the manifest: never overwrites one that exists. */
  private async createManifest(text: string): Promise<void> {
    const { client, bucket, snapshotPrefix, snapshotId, endpoint } = this.target;
    const key = snapshotPrefix + MANIFEST_FILE;
    for (let conflicts = 0; ; conflicts += 1) {
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: text,
            ContentType: 'application/json',
            IfNoneMatch: '*',
          }),
        );
        return;
      } catch (err) {
        if (isPreconditionFailed(err)) {
          // The SDK retries a request whose answer was lost: our own first try may be what is there.
          if (await this.storedManifestIs(key, text)) return;
          this.manifestRefused = true;
          throw new SnapshotExistsError(snapshotId, this.where);
        }
        if (isConditionalConflict(err) && conflicts < CONFLICT_RETRIES) {
          await sleep(CONFLICT_BACKOFF_MS * (conflicts + 1));
          continue;
        }
        throw describeS3Error(err, `writing ${formatS3Location(bucket, key)}`, endpoint);
      }
    }
  }

  private async storedManifestIs(key: string, text: string): Promise<boolean> {
    const { client, bucket, endpoint } = this.target;
    try {
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await got.Body?.transformToString('utf8')) === text;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw describeS3Error(err, `reading ${formatS3Location(bucket, key)}`, endpoint);
    }
  }

  /**
   * Stops the uploads (an unfinished multipart upload is aborted) and deletes whatever this attempt stored.
   * Best effort: what cannot be deleted now stays in this attempt's folder, invisible to load, for `prune`.
   * When the manifest write failed ambiguously (no answer, but it may have landed), the files are kept unless
   * the manifest is known not to be this attempt's: a complete snapshot never loses its data.
   */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    for (const f of this.files) if (!f.body.destroyed) f.body.destroy(new Error('snapshot write aborted'));
    await Promise.allSettled(this.files.map((f) => f.done));
    if (this.manifestText !== undefined && !this.manifestRefused) {
      let ours: boolean;
      try {
        ours = await this.storedManifestIs(this.target.snapshotPrefix + MANIFEST_FILE, this.manifestText);
      } catch {
        ours = true; // cannot tell: keep the files; prune removes them later if no manifest names them
      }
      if (ours) return;
    }
    const { client, bucket } = this.target;
    await Promise.allSettled(
      this.files.map((f) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: f.key }))),
    );
  }
}
