/**
 * The snapshot format, shared by `extract` (writer) and `load` (reader).
 *
 * A snapshot is a folder (or an object-store prefix) named by its id, holding:
 *   events.ndjson    one {@link EventLine} per valid event
 *   rejected.ndjson  one {@link RejectedLine} per quarantined message
 *   manifest.json    a {@link Manifest}, written last: a snapshot is complete iff it has one
 * Data files written with gzip compression are named `events.ndjson.gz` / `rejected.ndjson.gz`, and their
 * manifest entries say `compression: 'gzip'`.
 */
import { jsonErrorText } from '../basics/json-text.js';

/** Bumped on any change a reader of an older version could misread. */
export const SNAPSHOT_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const EVENTS_FILE = 'events.ndjson';
export const REJECTED_FILE = 'rejected.ndjson';
/** Appended to a data file's name when it is stored gzip-compressed. */
export const GZIP_SUFFIX = '.gz';

/** The name a data file is stored under: `events.ndjson`, or `events.ndjson.gz` when compressed. */
export function storedFileName(name: string, compression: 'gzip' | undefined): string {
  return compression === 'gzip' ? name + GZIP_SUFFIX : name;
}

/** The uncompressed name of a manifest entry (`events.ndjson` for `events.ndjson.gz`), to tell the files apart. */
export function plainFileName(file: ManifestFile): string {
  return file.compression === 'gzip' && file.name.endsWith(GZIP_SUFFIX)
    ? file.name.slice(0, -GZIP_SUFFIX.length)
    : file.name;
}

/** Where a message sat in Kafka. Offsets are numbers: Kafka's int64 offsets stay far below 2^53 in practice. */
export interface Coordinates {
  topic: string;
  partition: number;
  offset: number;
  /** Kafka message timestamp, milliseconds since the epoch (create or log-append time), or null. */
  timestamp: number | null;
}

/** A Kafka header: its value as UTF-8 text when it is valid UTF-8, else base64 with `encoding: 'base64'`. */
export interface HeaderEntry {
  key: string;
  value: string | null;
  encoding?: 'base64';
}

/** One valid event: its coordinates, key, headers and the decoded JSON object. */
export interface EventLine extends Coordinates {
  /** The message key as UTF-8 text (base64 in `key_base64` when it is not valid UTF-8), or null. */
  key: string | null;
  key_base64?: string;
  headers: HeaderEntry[];
  value: Record<string, unknown>;
}

/** Why a message was quarantined. */
export type RejectCode =
  | 'tombstone'
  | 'empty_value'
  | 'not_utf8'
  | 'not_json'
  | 'not_object'
  | 'nul_character'
  | 'no_schema'
  | 'schema_violation'
  | 'too_deep';

/** One problem found by schema validation, as data (path is a JSON pointer into the value). */
export interface ValidationIssue {
  code: string;
  path: string;
  message: string;
}

export interface RejectReason {
  code: RejectCode;
  message: string;
  issues?: ValidationIssue[];
}

/** One quarantined message: raw bytes in base64 so nothing is lost, with where it was and why. */
export interface RejectedLine extends Coordinates {
  key_base64: string | null;
  value_base64: string | null;
  headers: HeaderEntry[];
  reason: RejectReason;
}

/** The range of one partition read into a snapshot: first..last inclusive; `last + 1` is what gets committed. */
export interface PartitionRange {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  /** Messages in the range (events + rejected). */
  messages: number;
  /** The high watermark read at the start of the run. */
  highWatermark: number;
}

/** One data file of the snapshot, with its checksum. */
export interface ManifestFile {
  name: string;
  /** Size of the file as stored (compressed, when it is). */
  bytes: number;
  /** NDJSON lines in the file (after decompression). */
  lines: number;
  /** sha256 of the bytes as stored (compressed, when it is): what a reader can check before decompressing. */
  sha256: string;
  /** How the stored bytes are compressed; absent: plain NDJSON. */
  compression?: 'gzip';
  /**
   * Where the file is stored, relative to the snapshot, when that is not `name`: an object store keeps each
   * attempt's data files under their own folder, so a losing attempt never overwrites the winner's files.
   */
  path?: string;
}

export interface SnapshotCounts {
  messages: number;
  events: number;
  rejected: number;
  /** Rejected messages by {@link RejectCode}. */
  rejectedByReason: Partial<Record<RejectCode, number>>;
  /** Valid events per topic. */
  eventsByTopic: Record<string, number>;
}

/** Written last: its presence is what makes a snapshot complete. */
export interface Manifest {
  formatVersion: number;
  snapshotId: string;
  runId: string;
  groupId: string;
  /** ISO 8601 UTC time the run started draining. */
  startedAt: string;
  /** ISO 8601 UTC time the manifest was written. */
  completedAt: string;
  topics: string[];
  partitions: PartitionRange[];
  counts: SnapshotCounts;
  files: ManifestFile[];
}

const ID_UNSAFE = /[^A-Za-z0-9._-]+/g;
const MAX_RUN_ID_CHARS = 100;

/** The time stamp a snapshot id starts with: `20261127T061500123Z` (UTC, milliseconds; sorts as the time does). */
export function snapshotStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace('.', '');
}

const STAMPED_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z_/;

/** The start time in a snapshot id that begins with a {@link snapshotStamp}; undefined for any other id. */
export function stampedTime(id: string): Date | undefined {
  const m = STAMPED_ID.exec(id);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m;
  const at = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/**
 * A snapshot id that sorts by time (oldest first) and is unique per attempt:
 * `20261127T061500123Z_<run id made path-safe>_<random>`.
 */
export function snapshotId(startedAt: Date, runId: string, random: string): string {
  const safeRun = runId.replace(ID_UNSAFE, '-').slice(0, MAX_RUN_ID_CHARS);
  return `${snapshotStamp(startedAt)}_${safeRun}_${random}`;
}

const PATH_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** A relative path of plain segments (no `..`, no leading `/`): a manifest cannot point outside its snapshot. */
function isSafeRelativePath(p: unknown): boolean {
  return typeof p === 'string' && p.split('/').every((seg) => PATH_SEGMENT.test(seg) && seg !== '..');
}

/** Whether `v` is a count or an offset: an integer, 0 or more. */
function isCount(v: unknown): boolean {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/** What is wrong with a manifest's numbers: file sizes, partition ranges and counts, each a whole number. */
function numberProblems(m: Partial<Manifest>): string[] {
  const problems: string[] = [];
  for (const f of Array.isArray(m.files) ? m.files : [])
    if (typeof f?.name === 'string' && !(isCount(f.bytes) && isCount(f.lines)))
      problems.push(`file ${f.name}: bytes and lines must be whole numbers`);
  if (!Array.isArray(m.partitions)) problems.push('partitions missing');
  else
    for (const [i, r] of m.partitions.entries()) {
      // The high watermark is what the run saw, for people: checked only when it is there.
      const fields = [r?.partition, r?.firstOffset, r?.lastOffset, r?.messages, r?.highWatermark ?? 0];
      if (typeof r?.topic !== 'string' || !fields.every(isCount))
        problems.push(
          `partitions[${i}] needs a topic and whole numbers for partition, offsets, messages, highWatermark`,
        );
      else if (r.firstOffset > r.lastOffset)
        problems.push(`partitions[${i}]: firstOffset ${r.firstOffset} is after lastOffset ${r.lastOffset}`);
    }
  if (typeof m.counts !== 'object' || m.counts === null) problems.push('counts missing');
  else
    for (const name of ['messages', 'events', 'rejected'] as const)
      if (!isCount(m.counts[name]))
        problems.push(`counts.${name} ${JSON.stringify(m.counts[name])} is not a whole number`);
  return problems;
}

/** Checks that `value` has the manifest's shape, so a hand-edited or truncated manifest is refused clearly. */
export function parseManifest(text: string, where: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: manifest is not valid JSON (${jsonErrorText(text, err)})`);
  }
  const m = raw as Partial<Manifest>;
  const problems: string[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) problems.push('not a JSON object');
  else {
    if (m.formatVersion !== SNAPSHOT_FORMAT_VERSION)
      problems.push(`formatVersion ${String(m.formatVersion)} is not ${SNAPSHOT_FORMAT_VERSION}`);
    if (typeof m.snapshotId !== 'string' || m.snapshotId === '') problems.push('snapshotId missing');
    if (!Array.isArray(m.files)) problems.push('files missing');
    else
      for (const f of m.files)
        if (typeof f?.name !== 'string' || !/^[a-f0-9]{64}$/.test(String(f?.sha256)) || typeof f.bytes !== 'number')
          problems.push(`file entry ${JSON.stringify(f)} is malformed`);
        else if (f.compression !== undefined && f.compression !== 'gzip')
          problems.push(`file ${f.name}: unknown compression ${JSON.stringify(f.compression)}`);
        else if (f.path !== undefined && !isSafeRelativePath(f.path))
          problems.push(`file ${f.name}: path ${JSON.stringify(f.path)} is not a plain relative path`);
    if (typeof m.startedAt !== 'string' || Number.isNaN(Date.parse(m.startedAt)))
      problems.push(`startedAt ${JSON.stringify(m.startedAt)} is not a time`);
    problems.push(...numberProblems(m));
  }
  if (problems.length) throw new Error(`${where}: manifest refused: ${problems.join('; ')}`);
  return m as Manifest;
}

/** Who wrote a snapshot and when. */
export interface SnapshotMeta {
  snapshotId: string;
  runId: string;
  groupId: string;
  startedAt: Date;
  topics: string[];
}
