import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Writable } from 'node:stream';

/** Where a {@link S3PartWriter} stores its object. */
export interface S3ObjectTarget {
  client: S3Client;
  bucket: string;
  key: string;
  contentType: string;
  /** Turns a failure of the store into the error the stream emits (a message that says what to fix). */
  describe: (err: unknown) => Error;
}

/** Sizes of a {@link S3PartWriter}. */
export interface PartLimits {
  /** Bytes of every part but the last (S3's minimum is 5 MiB). */
  partBytes: number;
  /** Parts uploading at once. */
  queue: number;
}

/**
 * A writable stream that stores what is written as one object: a single put when it all fits in one part, else a
 * multipart upload whose parts are filled in `queue + 1` part buffers allocated once and reused.
 *
 * It does what `@aws-sdk/lib-storage`'s `Upload` did here, without its copies: `Upload` joins the chunks of each
 * part into a freshly allocated buffer (`Buffer.concat`), and that stream of 5 MiB allocations grew the C heap of
 * an extract by ~50 MB (glibc serves them from its heap once the first one is freed, and fragments it); reused
 * buffers keep the memory of an upload at `(queue + 1) × partBytes` whatever the file's size.
 *
 * The stream finishes once the object is stored (the multipart upload completed). On any failure, or when it is
 * destroyed before that, an unfinished multipart upload is aborted (best effort), so no invisible parts are left
 * to pay for; the stream then errors with the failure (or the destroy's error).
 */
export class S3PartWriter extends Writable {
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private current: Buffer | undefined;
  private used = 0;
  private uploadId: Promise<string> | undefined;
  private readonly parts: Array<{ PartNumber: number; ETag: string | undefined }> = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;
  private completed = false;

  constructor(
    private readonly target: S3ObjectTarget,
    private readonly limits: PartLimits,
  ) {
    super({ highWaterMark: 256 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.append(chunk).then(
      () => callback(),
      (err: unknown) => callback(this.failure ?? this.target.describe(err)),
    );
  }

  private async append(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      if (this.failure) throw this.failure;
      const buf = this.current ?? (this.current = await this.takeBuffer());
      const n = chunk.copy(buf, this.used, at);
      this.used += n;
      at += n;
      if (this.used === buf.length) this.sendPart(false);
    }
  }

  /** A free part buffer: a reused one, a new one while fewer than `queue + 1` exist, or the next one freed. */
  private async takeBuffer(): Promise<Buffer> {
    for (;;) {
      // A failed part keeps its buffer out of the rotation: the failure is the answer, never an endless wait.
      if (this.failure) throw this.failure;
      const buf = this.free.pop();
      if (buf) return buf;
      if (this.allocated < this.limits.queue + 1) {
        this.allocated += 1;
        return Buffer.allocUnsafeSlow(this.limits.partBytes);
      }
      if (this.inFlight.size === 0) throw new Error('no part buffer is free and none is uploading');
      await Promise.race(this.inFlight);
    }
  }

  /** Starts uploading the current buffer as the next part. */
  private sendPart(last: boolean): void {
    const buf = this.current!;
    const length = this.used;
    this.current = undefined;
    this.used = 0;
    const { client, bucket, key, contentType } = this.target;
    this.uploadId ??= client
      .send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }))
      .then((r) => {
        if (!r.UploadId) throw new Error('the store started a multipart upload without an upload id');
        return r.UploadId;
      });
    const entry = { PartNumber: this.parts.length + 1, ETag: undefined as string | undefined };
    this.parts.push(entry);
    const job = (async () => {
      const uploadId = await this.uploadId!;
      const r = await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: entry.PartNumber,
          Body: buf.subarray(0, length),
          ContentLength: length,
        }),
      );
      entry.ETag = r.ETag;
    })().then(
      () => {
        this.inFlight.delete(job);
        if (!last) this.free.push(buf);
      },
      (err: unknown) => {
        this.inFlight.delete(job);
        this.failure ??= this.target.describe(err);
      },
    );
    this.inFlight.add(job);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish().then(
      () => callback(),
      (err: unknown) => callback(this.failure ?? this.target.describe(err)),
    );
  }

  private async finish(): Promise<void> {
    const { client, bucket, key, contentType } = this.target;
    if (this.uploadId === undefined) {
      // It all fits in one part: one put.
      const body = this.current ? this.current.subarray(0, this.used) : Buffer.alloc(0);
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ContentLength: body.length,
        }),
      );
      this.completed = true;
      return;
    }
    if (this.used > 0) this.sendPart(true);
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: await this.uploadId,
        MultipartUpload: { Parts: this.parts },
      }),
    );
    this.completed = true;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release(error).then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** Aborts an unfinished multipart upload (after the parts in flight settled) and drops the buffers. */
  private async release(error: Error | null): Promise<void> {
    this.failure ??= error ?? new Error('upload stopped before it finished');
    await Promise.allSettled(this.inFlight);
    this.free.length = 0;
    this.current = undefined;
    if (this.completed || this.uploadId === undefined) return;
    const uploadId = await this.uploadId.catch(() => undefined);
    if (uploadId === undefined) return;
    const { client, bucket, key } = this.target;
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
  }
}
