import {
  close as closeFd,
  constants as fsConstants,
  createReadStream,
  createWriteStream,
  fdatasync,
  open as openFd,
  write as writeFd,
  writev as writevFd,
  type WriteStream,
} from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../basics/errors.js';
import { checkFolders, exists, folderErrorWords, makeFolders } from '../basics/folders.js';
import type { Readable, Writable } from 'node:stream';
import { MANIFEST_FILE } from './format.js';
import { addToListing, emptyListing } from './listing.js';
import {
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

const READ_CHUNK_BYTES = 1024 * 1024;
/** Snapshot files hold raw events: readable by the owner and group (a shared Airflow volume), nobody else. */
const FILE_MODE = 0o640;
const DIR_MODE = 0o750;
const TEMP_PREFIX = '.tmp-';
/**
 * A snapshot file being written is flushed to disk in the background (an fdatasync in libuv's thread pool) each
 * time this much more was written, so that the fsync before publishing has little left to write: without it a
 * 1 M-event snapshot waited ~0.5 s at the end for 370 MB of dirty pages.
 */
const BACKGROUND_SYNC_BYTES = 32 * 1024 * 1024;

/** What a write stream's `fs` option holds (its type is not exported by @types/node). */
type StreamFs = NonNullable<Extract<Parameters<typeof createWriteStream>[1], { fs?: unknown }>['fs']>;
type IoCallback = (err: NodeJS.ErrnoException | null, ...rest: unknown[]) => void;

/**
 * File functions for a write stream that start a background fdatasync after every {@link BACKGROUND_SYNC_BYTES}
 * written (one at a time). A failed one fails the stream's close: the error is never swallowed, since a later
 * fsync may no longer report it.
 */
function backgroundSyncingFs(): StreamFs {
  let unsynced = 0;
  let syncing: Promise<NodeJS.ErrnoException | null> | undefined;
  let failure: NodeJS.ErrnoException | null = null;
  const wrote = (fd: number, bytes: number): void => {
    unsynced += bytes;
    if (syncing || unsynced < BACKGROUND_SYNC_BYTES) return;
    unsynced = 0;
    syncing = new Promise((resolve) => fdatasync(fd, resolve));
    void syncing.then((err) => {
      failure ??= err;
      syncing = undefined;
    });
  };
  const counted =
    (fd: number, cb: IoCallback): IoCallback =>
    (err, written, ...rest) => {
      if (!err) wrote(fd, written as number);
      cb(err, written, ...rest);
    };
  return {
    open: openFd,
    write: (fd: number, buffer: Buffer, offset: number, length: number, position: number | null, cb: IoCallback) =>
      writeFd(fd, buffer, offset, length, position, counted(fd, cb)),
    writev: (fd: number, buffers: Buffer[], position: number | null, cb: IoCallback) =>
      writevFd(fd, buffers, position, counted(fd, cb)),
    close: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) =>
      void (syncing ?? Promise.resolve(null)).then(() => closeFd(fd, (err) => cb(failure ?? err))),
  };
}

/** fsyncs a file or a directory by path. */
async function fsyncPath(p: string, isDir: boolean): Promise<void> {
  const handle = await open(p, isDir ? fsConstants.O_RDONLY | fsConstants.O_DIRECTORY : fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Snapshots as folders under a root directory: written into `<root>/.tmp-<id>`, every file fsynced,
 * the manifest written last, then the folder renamed to `<root>/<id>` and the root fsynced.
 * `location` may also name a single snapshot folder (one holding a manifest): then only that one is listed.
 */
export class DirectorySnapshotStore implements PrunableSnapshotStore {
  private constructor(
    readonly root: string,
    private readonly only: string | undefined,
  ) {}

  get location(): string {
    return this.only ? path.join(this.root, this.only) : this.root;
  }

  /** Opens a store at `location`: a snapshot root, or one snapshot folder. */
  static async open(location: string): Promise<DirectorySnapshotStore> {
    const abs = path.resolve(location);
    if (await exists(path.join(abs, MANIFEST_FILE)))
      return new DirectorySnapshotStore(path.dirname(abs), path.basename(abs));
    return new DirectorySnapshotStore(abs, undefined);
  }

  async listIds(range?: IdRange): Promise<string[]> {
    if (this.only) return idsInRange([this.only], range);
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      const ids = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
      return idsInRange(ids, range);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw this.notAFolder(err);
    }
  }

  /** A failed `readdir` of the root as the error to show: a usage error when the root is missing or a file. */
  private notAFolder(err: unknown): unknown {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR')
      return new UsageError(`${this.root} is a file, not a folder of snapshots: check --snapshots`);
    if (code === 'ENOENT')
      return new UsageError(
        `${this.root} does not exist: check --snapshots (or EVENTFUL_SNAPSHOTS); it must be the folder extract ` +
          `writes to (--out), which extract makes on its first run`,
      );
    return err;
  }

  async list(ids?: readonly string[]): Promise<SnapshotListing> {
    const listing = emptyListing();
    for (const id of [...(ids ?? (await this.listIds()))].sort()) {
      const manifestPath = path.join(this.root, id, MANIFEST_FILE);
      let text: string | undefined;
      try {
        text = await readFile(manifestPath, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          listing.unreadable.push({ id, reason: (err as Error).message });
          continue;
        }
      }
      addToListing(listing, id, text, manifestPath);
    }
    listing.complete.sort(compareSnapshotRefs);
    return listing;
  }

  openRead(id: string, name: string): Readable {
    // 1 MiB reads instead of the default 64 KiB: a load of 1 M events spends ~5% less time reading and splitting.
    return createReadStream(path.join(this.root, id, name), { highWaterMark: READ_CHUNK_BYTES });
  }

  async prepare(dryRun = false): Promise<void> {
    try {
      await (dryRun ? checkFolders(this.root) : makeFolders(this.root, DIR_MODE));
    } catch (err) {
      const words = folderErrorWords(err);
      if (!words) throw err;
      throw new UsageError(
        `${dryRun ? 'a run without --dry-run could not write its snapshot: ' : ''}` +
          `cannot make the snapshot folder ${this.root} (${words}): choose a folder the task's user can write`,
      );
    }
  }

  async beginWrite(id: string): Promise<SnapshotWriter> {
    await this.prepare();
    const final = path.join(this.root, id);
    if (await exists(final)) throw new SnapshotExistsError(id, final);
    const temp = path.join(this.root, TEMP_PREFIX + id);
    try {
      await mkdir(temp, { mode: DIR_MODE });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      throw new Error(
        `${temp} exists: another attempt is writing snapshot ${id}, or a killed one left it behind ` +
          `(the prune command removes such folders once they are older than its grace period)`,
      );
    }
    return new DirectorySnapshotWriter(this.root, temp, final, id);
  }

  /** Removes `.tmp-*` folders (attempts that never published) last written more than `graceMs` ago. */
  async prune(graceMs: number, dryRun: boolean, now: Date = new Date()): Promise<PruneReport> {
    const cutoff = now.getTime() - graceMs;
    const report: PruneReport = { dryRun, cutoff: new Date(cutoff).toISOString(), candidates: [], removed: 0 };
    // A store opened on one snapshot folder owns nothing else.
    if (this.only) return report;
    let entries;
    try {
      entries = await readdir(this.root, { withFileTypes: true });
    } catch (err) {
      throw this.notAFolder(err);
    }
    for (const e of entries
      .filter((d) => d.isDirectory() && d.name.startsWith(TEMP_PREFIX))
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const folder = path.join(this.root, e.name);
      const candidate = await describeTempFolder(folder, e.name.slice(TEMP_PREFIX.length));
      if (!candidate || Date.parse(candidate.lastModified) >= cutoff) continue;
      report.candidates.push(candidate);
      if (!dryRun) {
        await rm(folder, { recursive: true, force: true });
        report.removed += 1;
      }
    }
    return report;
  }
}

/**
 * Size and last write of an attempt's folder: the newest mtime of the folder and its files (a file being
 * appended to changes its own mtime, not the folder's). Undefined when the folder vanished meanwhile.
 */
async function describeTempFolder(folder: string, id: string): Promise<PruneCandidate | undefined> {
  try {
    let newest = (await stat(folder)).mtimeMs;
    let bytes = 0;
    let objects = 0;
    for (const f of await readdir(folder, { withFileTypes: true })) {
      const st = await stat(path.join(folder, f.name));
      newest = Math.max(newest, st.mtimeMs);
      if (f.isFile()) {
        bytes += st.size;
        objects += 1;
      }
    }
    return { id, location: folder, objects, bytes, lastModified: new Date(newest).toISOString() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

class DirectorySnapshotWriter implements SnapshotWriter {
  private readonly files: WriteStream[] = [];

  constructor(
    private readonly root: string,
    private readonly temp: string,
    private readonly final: string,
    private readonly id: string,
  ) {}

  openFile(name: string): Writable {
    const stream = createWriteStream(path.join(this.temp, name), {
      flags: 'wx',
      mode: FILE_MODE,
      fs: backgroundSyncingFs(),
    });
    this.files.push(stream);
    return stream;
  }

  async publish(manifestText: string): Promise<void> {
    try {
      await this.publishFiles(manifestText);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await exists(this.temp)))
        throw new Error(
          `the snapshot's temporary folder ${this.temp} was removed while extract wrote it (by prune with a --grace ` +
            'shorter than this run?): nothing was published nor committed, so the next run reads the same events',
        );
      throw err;
    }
  }

  private async publishFiles(manifestText: string): Promise<void> {
    for (const f of this.files) {
      if (!f.closed) await new Promise<void>((resolve, reject) => f.once('close', resolve).once('error', reject));
      await fsyncPath(String(f.path), false);
    }
    const manifestPath = path.join(this.temp, MANIFEST_FILE);
    const handle = await open(manifestPath, 'wx', FILE_MODE);
    try {
      await handle.writeFile(manifestText);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsyncPath(this.temp, true);
    if (await exists(this.final)) throw new SnapshotExistsError(this.id, this.final);
    await rename(this.temp, this.final);
    await fsyncPath(this.root, true);
  }

  async abort(): Promise<void> {
    for (const f of this.files) f.destroy();
    await rm(this.temp, { recursive: true, force: true });
  }
}
