/**
 * The consumer group's lag, pure: per partition what the next snapshot would read, per topic the total, the age of
 * the oldest event not yet snapshotted and the retention risk, and whether `--min-lag` / `--max-age` are crossed.
 * The figures follow extract's drain plan ({@link planPartition}), so "lag" is exactly what the next extract run
 * would read (up to the current high watermark).
 */
import { formatDurationMs } from '../config/duration.js';
import { planPartition, type PartitionStart, type TopicPartition } from './drain-plan.js';

/** Kafka's `retention.ms` value for "keep forever". */
export const RETENTION_INFINITE = -1;

/** What one partition looks like to the lag probe: watermarks, committed offset, and its oldest pending event. */
export interface PartitionObservation extends PartitionStart {
  /**
   * Kafka timestamp (ms since the epoch) of the first message at or after the offset the next snapshot starts
   * at; null when nothing is pending or it could not be read.
   */
  oldestPendingTimestamp: number | null;
}

/** What the probe read about one topic. */
export interface TopicObservation {
  topic: string;
  partitions: readonly PartitionObservation[];
  /** The topic's `retention.ms` (-1: forever); null when it could not be read. */
  retentionMs: number | null;
}

/** One partition of the lag report. */
export interface PartitionLag extends TopicPartition {
  /** The group's committed offset (the next offset it wants); null when it never committed one. */
  committed: number | null;
  /** Log start offset: the oldest offset the broker still keeps. */
  logStart: number;
  highWatermark: number;
  /**
   * Events the next snapshot would read: from the committed offset (or the log start, when there is no commit,
   * when retention deleted past it, or when it lies beyond the high watermark) up to the high watermark.
   */
  lag: number;
  /** Events deleted by retention before any snapshot read them (log start − committed, when positive). */
  lost: number;
  /** The committed offset lies beyond the high watermark (topic recreated or truncated): extract starts over. */
  reset: boolean;
  oldestPendingTimestamp: number | null;
}

/** How close a topic's pending events are to being deleted by retention. */
export type RetentionRisk =
  /** Events were already deleted unread (committed offset below the log start). */
  | 'lost'
  /** The oldest pending event is older than `retentionWarn × retention.ms`. */
  | 'at_risk'
  /** Nothing lost and nothing pending close to the retention limit (or nothing pending at all). */
  | 'ok'
  /** Events are pending but `retention.ms` could not be read, so the risk cannot be judged. */
  | 'unknown';

/** One topic of the lag report. */
export interface TopicLag {
  topic: string;
  lag: number;
  lost: number;
  /** Kafka timestamp (ms) of the oldest event not yet snapshotted; null when none is pending (or unreadable). */
  oldestPendingTimestamp: number | null;
  /** Age of that event when the lag was read (ms, never negative: a producer clock ahead counts as 0). */
  oldestPendingAgeMs: number | null;
  /** `retention.ms` of the topic: -1 keeps forever; null unknown. */
  retentionMs: number | null;
  retentionRisk: RetentionRisk;
  partitions: PartitionLag[];
}

/** The whole report, over the topics asked for. */
export interface LagReport {
  groupId: string;
  /** When the figures were read (ms since the epoch). */
  checkedAt: number;
  /** The share of `retention.ms` beyond which a pending event counts as at risk. */
  retentionWarn: number;
  topics: TopicLag[];
  lag: number;
  lost: number;
  /** The oldest pending event over all topics. */
  oldestPendingTimestamp: number | null;
  oldestPendingAgeMs: number | null;
}

/** `--min-lag` / `--max-age`: a run is worth starting when either is reached. */
export interface LagThresholds {
  /** At least this many pending events (over all topics). */
  minLag?: number | undefined;
  /** The oldest pending event is older than this (ms). */
  maxAgeMs?: number | undefined;
}

/** Whether the thresholds are crossed, and why. */
export interface LagDecision {
  /** Whether any threshold was given; without one the command only reports (exit 0). */
  thresholdsGiven: boolean;
  /** Whether a run is worth starting: a threshold is reached, or pending events are at retention risk. */
  crossed: boolean;
  /** Why, for people (empty when not crossed). */
  reasons: string[];
}

/** The lag of one partition. */
export function partitionLag(p: PartitionObservation): PartitionLag {
  const plan = planPartition(p);
  return {
    topic: p.topic,
    partition: p.partition,
    committed: plan.committed,
    logStart: p.low,
    highWatermark: p.high,
    lag: plan.pending,
    lost: plan.gap?.lost ?? 0,
    reset: plan.reset !== undefined,
    oldestPendingTimestamp: plan.pending > 0 ? p.oldestPendingTimestamp : null,
  };
}

function ageMs(timestamp: number | null, now: number): number | null {
  return timestamp === null ? null : Math.max(0, now - timestamp);
}

function minTimestamp(values: ReadonlyArray<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? Math.min(...known) : null;
}

/** The retention risk of a topic (see {@link RetentionRisk}). */
export function retentionRisk(
  t: Pick<TopicLag, 'lag' | 'lost' | 'oldestPendingAgeMs' | 'retentionMs'>,
  retentionWarn: number,
): RetentionRisk {
  if (t.lost > 0) return 'lost';
  if (t.lag === 0) return 'ok';
  if (t.retentionMs === null) return 'unknown';
  if (t.retentionMs === RETENTION_INFINITE || t.retentionMs < 0) return 'ok';
  if (t.oldestPendingAgeMs !== null && t.oldestPendingAgeMs > retentionWarn * t.retentionMs) return 'at_risk';
  return 'ok';
}

/** The lag of one topic at `now`. */
export function topicLag(t: TopicObservation, now: number, retentionWarn: number): TopicLag {
  const partitions = t.partitions.map(partitionLag).sort((a, b) => a.partition - b.partition);
  const lag = partitions.reduce((n, p) => n + p.lag, 0);
  const lost = partitions.reduce((n, p) => n + p.lost, 0);
  const oldestPendingTimestamp = minTimestamp(partitions.map((p) => p.oldestPendingTimestamp));
  const oldestPendingAgeMs = ageMs(oldestPendingTimestamp, now);
  return {
    topic: t.topic,
    lag,
    lost,
    oldestPendingTimestamp,
    oldestPendingAgeMs,
    retentionMs: t.retentionMs,
    retentionRisk: retentionRisk({ lag, lost, oldestPendingAgeMs, retentionMs: t.retentionMs }, retentionWarn),
    partitions,
  };
}

/** The lag report over the topics observed at `now` (ms since the epoch). */
export function lagReport(
  groupId: string,
  topics: readonly TopicObservation[],
  now: number,
  retentionWarn: number,
): LagReport {
  const lags = topics.map((t) => topicLag(t, now, retentionWarn)).sort((a, b) => a.topic.localeCompare(b.topic));
  const oldestPendingTimestamp = minTimestamp(lags.map((t) => t.oldestPendingTimestamp));
  return {
    groupId,
    checkedAt: now,
    retentionWarn,
    topics: lags,
    lag: lags.reduce((n, t) => n + t.lag, 0),
    lost: lags.reduce((n, t) => n + t.lost, 0),
    oldestPendingTimestamp,
    oldestPendingAgeMs: ageMs(oldestPendingTimestamp, now),
  };
}

/**
 * Decides whether a run is worth starting. Crossed when the total lag reaches `minLag`, or the oldest pending
 * event is older than `maxAgeMs`, or a topic with pending events is at retention risk (lost or `at_risk`: waiting
 * for a threshold would lose more). Lost events with nothing left to read do not count: a run would read nothing.
 * Without thresholds the decision is "crossed" (the command only reports and exits 0).
 */
export function decide(report: LagReport, thresholds: LagThresholds): LagDecision {
  const thresholdsGiven = thresholds.minLag !== undefined || thresholds.maxAgeMs !== undefined;
  const reasons: string[] = [];
  if (thresholds.minLag !== undefined && report.lag >= thresholds.minLag)
    reasons.push(`${report.lag} pending events >= --min-lag ${thresholds.minLag}`);
  if (
    thresholds.maxAgeMs !== undefined &&
    report.oldestPendingAgeMs !== null &&
    report.oldestPendingAgeMs > thresholds.maxAgeMs
  )
    reasons.push(
      `the oldest pending event is ${formatDurationMs(report.oldestPendingAgeMs)} old > --max-age ${formatDurationMs(thresholds.maxAgeMs)}`,
    );
  for (const t of report.topics) {
    if (t.lag === 0) continue;
    if (t.retentionRisk === 'lost') reasons.push(`${t.topic}: ${t.lost} events already lost to retention`);
    else if (t.retentionRisk === 'at_risk')
      reasons.push(
        `${t.topic}: the oldest pending event (${formatDurationMs(t.oldestPendingAgeMs ?? 0)} old) is past ` +
          `${report.retentionWarn} × retention.ms (${formatDurationMs(t.retentionMs ?? 0)})`,
      );
  }
  return { thresholdsGiven, crossed: !thresholdsGiven || reasons.length > 0, reasons };
}

/** Warnings a person should read whatever the thresholds: lost events, risk, resets, unknowns. */
export function lagWarnings(report: LagReport): string[] {
  const out: string[] = [];
  for (const t of report.topics) {
    for (const p of t.partitions) {
      if (p.lost > 0)
        out.push(
          `${t.topic}[${p.partition}]: ${p.lost} events were deleted by retention before a snapshot read them ` +
            `(committed ${p.committed}, log start ${p.logStart}); the next extract reads on from the log start`,
        );
      if (p.reset)
        out.push(
          `${t.topic}[${p.partition}]: committed offset ${p.committed} is beyond the high watermark ${p.highWatermark} ` +
            `(topic recreated or truncated?); the next extract starts over from the log start`,
        );
      if (p.lag > 0 && p.oldestPendingTimestamp === null)
        out.push(`${t.topic}[${p.partition}]: the oldest pending event's timestamp could not be read`);
    }
    if (t.retentionRisk === 'at_risk')
      out.push(
        `${t.topic}: the oldest pending event is ${formatDurationMs(t.oldestPendingAgeMs ?? 0)} old, more than ` +
          `${report.retentionWarn} × retention.ms (${formatDurationMs(t.retentionMs ?? 0)}): snapshot soon or lose events`,
      );
    if (t.retentionRisk === 'unknown')
      out.push(`${t.topic}: retention.ms is unknown, so the retention risk of its pending events cannot be judged`);
  }
  return out;
}

function cell(v: number | string | null): string {
  return v === null ? '-' : String(v);
}

function retentionCell(ms: number | null): string {
  if (ms === null) return '?';
  return ms < 0 ? 'forever' : formatDurationMs(ms);
}

/** The report as a table for people (a terminal or the task log): one line per partition, one total per topic. */
export function renderLagTable(report: LagReport): string {
  const header = ['topic', 'partition', 'committed', 'log start', 'high', 'lag', 'lost', 'oldest pending', 'retention'];
  const rows: string[][] = [];
  for (const t of report.topics) {
    for (const p of t.partitions)
      rows.push([
        t.topic,
        String(p.partition),
        cell(p.committed),
        String(p.logStart),
        String(p.highWatermark),
        String(p.lag),
        String(p.lost),
        p.oldestPendingTimestamp === null
          ? '-'
          : formatDurationMs(Math.max(0, report.checkedAt - p.oldestPendingTimestamp)),
        '',
      ]);
    rows.push([
      t.topic,
      'total',
      '',
      '',
      '',
      String(t.lag),
      String(t.lost),
      t.oldestPendingAgeMs === null ? '-' : formatDurationMs(t.oldestPendingAgeMs),
      `${retentionCell(t.retentionMs)} (${t.retentionRisk})`,
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set([1, 2, 3, 4, 5, 6]);
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
