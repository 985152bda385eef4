import { describe, expect, it } from 'vitest';
import {
  decide,
  lagReport,
  lagWarnings,
  partitionLag,
  renderLagTable,
  retentionRisk,
  topicLag,
  type PartitionObservation,
  type TopicObservation,
} from '../../src/kafka/lag-report.js';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const HOUR = 3_600_000;

const p = (
  partition: number,
  low: number,
  high: number,
  committed: number | null,
  oldestPendingTimestamp: number | null = null,
  topic = 't',
): PartitionObservation => ({ topic, partition, low, high, committed, oldestPendingTimestamp });

const topic = (
  partitions: PartitionObservation[],
  retentionMs: number | null = 7 * 24 * HOUR,
  name = 't',
): TopicObservation => ({
  topic: name,
  partitions,
  retentionMs,
});

describe('lag of one partition', () => {
  it('should count everything kept as pending for a group that never committed', () => {
    expect(partitionLag(p(0, 5, 12, null, NOW))).toMatchObject({
      committed: null,
      logStart: 5,
      highWatermark: 12,
      lag: 7,
      lost: 0,
    });
  });

  it('should count from the committed offset to the high watermark', () => {
    expect(partitionLag(p(0, 0, 12, 10, NOW))).toMatchObject({ lag: 2, lost: 0, reset: false });
  });

  it('should report events deleted before they were read as lost, and count only what is left as lag', () => {
    expect(partitionLag(p(3, 100, 150, 40, NOW))).toMatchObject({ lag: 50, lost: 60 });
  });

  it('should flag a committed offset beyond the high watermark as a reset and count the whole log as lag', () => {
    expect(partitionLag(p(0, 0, 5, 9, NOW))).toMatchObject({ lag: 5, lost: 0, reset: true });
  });

  it('should drop the oldest pending timestamp of a partition with nothing pending', () => {
    expect(partitionLag(p(0, 0, 10, 10, NOW)).oldestPendingTimestamp).toBeNull();
  });
});

describe('lag of one topic', () => {
  it('should total the partitions and take the oldest pending event of all', () => {
    const t = topicLag(
      topic([p(1, 0, 10, 4, NOW - 2 * HOUR), p(0, 0, 10, 10), p(2, 0, 3, null, NOW - 5 * HOUR)]),
      NOW,
      0.5,
    );
    expect(t.lag).toBe(9);
    expect(t.partitions.map((x) => x.partition)).toEqual([0, 1, 2]);
    expect(t.oldestPendingTimestamp).toBe(NOW - 5 * HOUR);
    expect(t.oldestPendingAgeMs).toBe(5 * HOUR);
    expect(t.retentionRisk).toBe('ok');
  });

  it('should count a timestamp from a producer clock ahead of ours as age 0', () => {
    expect(topicLag(topic([p(0, 0, 1, null, NOW + 1000)]), NOW, 0.5).oldestPendingAgeMs).toBe(0);
  });

  it('should put a topic at risk when its oldest pending event is older than the share of retention.ms', () => {
    const t = topicLag(topic([p(0, 0, 10, 0, NOW - 5 * HOUR)], 8 * HOUR), NOW, 0.5);
    expect(t.retentionRisk).toBe('at_risk');
    expect(topicLag(topic([p(0, 0, 10, 0, NOW - 3 * HOUR)], 8 * HOUR), NOW, 0.5).retentionRisk).toBe('ok');
  });
});

describe('retention risk', () => {
  const base = { lag: 10, lost: 0, oldestPendingAgeMs: 10 * HOUR, retentionMs: 12 * HOUR };

  it('should say lost whenever events were deleted unread', () => {
    expect(retentionRisk({ ...base, lost: 1, lag: 0 }, 0.5)).toBe('lost');
  });

  it('should say ok when nothing is pending, whatever the retention', () => {
    expect(retentionRisk({ ...base, lag: 0, retentionMs: null }, 0.5)).toBe('ok');
  });

  it('should say unknown when events are pending and retention.ms could not be read', () => {
    expect(retentionRisk({ ...base, retentionMs: null }, 0.5)).toBe('unknown');
  });

  it('should never put a topic kept forever at risk', () => {
    expect(retentionRisk({ ...base, retentionMs: -1 }, 0.5)).toBe('ok');
  });

  it('should compare the oldest pending age with retentionWarn × retention.ms', () => {
    expect(retentionRisk(base, 0.5)).toBe('at_risk');
    expect(retentionRisk(base, 0.9)).toBe('ok');
  });
});

describe('the report and its decision', () => {
  const report = lagReport(
    'g',
    [
      topic([p(0, 0, 100, 40, NOW - 2 * HOUR, 'b'), p(1, 0, 50, 50, null, 'b')], 7 * 24 * HOUR, 'b'),
      topic([p(0, 0, 10, 5, NOW - 30 * 60_000, 'a')], -1, 'a'),
    ],
    NOW,
    0.5,
  );

  it('should total lag over topics, sorted by name, and keep the oldest pending event of all', () => {
    expect(report.topics.map((t) => t.topic)).toEqual(['a', 'b']);
    expect(report.lag).toBe(65);
    expect(report.lost).toBe(0);
    expect(report.oldestPendingAgeMs).toBe(2 * HOUR);
    expect(report.checkedAt).toBe(NOW);
  });

  it('should report without deciding when no threshold is given', () => {
    expect(decide(report, {})).toEqual({ thresholdsGiven: false, crossed: true, reasons: [] });
  });

  it('should cross --min-lag at exactly N pending events, and not below', () => {
    expect(decide(report, { minLag: 65 }).crossed).toBe(true);
    expect(decide(report, { minLag: 66 })).toEqual({ thresholdsGiven: true, crossed: false, reasons: [] });
  });

  it('should cross --max-age only when the oldest pending event is older than the limit', () => {
    expect(decide(report, { maxAgeMs: HOUR }).reasons).toEqual([
      'the oldest pending event is 2h00m old > --max-age 1h00m',
    ]);
    expect(decide(report, { maxAgeMs: 2 * HOUR }).crossed).toBe(false);
  });

  it('should cross when either threshold is reached', () => {
    expect(decide(report, { minLag: 1_000, maxAgeMs: HOUR }).crossed).toBe(true);
    expect(decide(report, { minLag: 10, maxAgeMs: 10 * HOUR }).crossed).toBe(true);
  });

  it('should not cross --max-age when nothing is pending', () => {
    const empty = lagReport('g', [topic([p(0, 0, 10, 10)])], NOW, 0.5);
    expect(decide(empty, { maxAgeMs: 1 }).crossed).toBe(false);
  });

  it('should cross, whatever the thresholds, when pending events are at retention risk or some were lost', () => {
    const risky = lagReport('g', [topic([p(0, 0, 10, 0, NOW - 5 * HOUR)], 8 * HOUR)], NOW, 0.5);
    expect(decide(risky, { minLag: 1_000 })).toMatchObject({ crossed: true });
    const lost = lagReport('g', [topic([p(0, 20, 30, 10, NOW)])], NOW, 0.5);
    expect(decide(lost, { minLag: 1_000 }).reasons).toEqual(['t: 10 events already lost to retention']);
  });

  it('should not cross for lost events when nothing is left to read (a run would read nothing)', () => {
    const gone = lagReport('g', [topic([p(0, 30, 30, 10)])], NOW, 0.5);
    expect(gone.lost).toBe(20);
    expect(decide(gone, { minLag: 1 }).crossed).toBe(false);
  });
});

describe('warnings and the table', () => {
  it('should warn about lost events, resets, unreadable timestamps and unknown retention', () => {
    const report = lagReport(
      'g',
      [topic([p(0, 20, 30, 10, NOW), p(1, 0, 5, 9, NOW), p(2, 0, 5, 0, null)], null)],
      NOW,
      0.5,
    );
    const text = lagWarnings(report).join('\n');
    expect(text).toContain('t[0]: 10 events were deleted by retention');
    expect(text).toContain('t[1]: committed offset 9 is beyond the high watermark 5');
    expect(text).toContain("t[2]: the oldest pending event's timestamp could not be read");
    expect(report.topics[0]!.retentionRisk).toBe('lost');
  });

  it('should render one line per partition and a total per topic', () => {
    const report = lagReport('g', [topic([p(0, 0, 100, 40, NOW - 90_000), p(1, 0, 0, null)])], NOW, 0.5);
    const lines = renderLagTable(report).split('\n');
    expect(lines[0]).toMatch(
      /^topic\s+partition\s+committed\s+log start\s+high\s+lag\s+lost\s+oldest pending\s+retention$/,
    );
    expect(lines).toHaveLength(5);
    expect(lines[2]).toMatch(/^t\s+0\s+40\s+0\s+100\s+60\s+0\s+1m30s$/);
    expect(lines[3]).toMatch(/^t\s+1\s+-\s+0\s+0\s+0\s+0\s+-$/);
    expect(lines[4]).toMatch(/^t\s+total\s+60\s+0\s+1m30s\s+7d00h \(ok\)$/);
  });
});
