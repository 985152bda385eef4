/**
 * The snapshot format, shared by `extract` (writer) and `load` (reader).
 *
 * A snapshot is a folder (or an object-store prefix) named by its id, holding:
 *   events.ndjson    one {@link EventLine} per valid event
 *   rejected.ndjson  one {@link RejectedLine} per quarantined message
 *   manifest.json    a {@link Manifest}, written last: a snapshot is complete iff it has one
 */

/** Bumped on any change a reader of an older version could misread. */
export const SNAPSHOT_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const EVENTS_FILE = 'events.ndjson';
export const REJECTED_FILE = 'rejected.ndjson';

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
  | 'schema_violation';

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
  bytes: number;
  lines: number;
  sha256: string;
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

/**
 * A snapshot id that sorts by time (oldest first) and is unique per attempt:
 * `20261127T061500123Z_<run id made path-safe>_<random>`.
 */
export function snapshotId(startedAt: Date, runId: string, random: string): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace('.', '');
  const safeRun = runId.replace(ID_UNSAFE, '-').slice(0, MAX_RUN_ID_CHARS);
  return `${stamp}_${safeRun}_${random}`;
}

/** Checks that `value` has the manifest's shape, so a hand-edited or truncated manifest is refused clearly. */
export function parseManifest(text: string, where: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: manifest is not valid JSON (${(err as Error).message})`);
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
    if (!Array.isArray(m.partitions)) problems.push('partitions missing');
    if (typeof m.counts !== 'object' || m.counts === null) problems.push('counts missing');
  }
  if (problems.length) throw new Error(`${where}: manifest refused: ${problems.join('; ')}`);
  return m as Manifest;
}
