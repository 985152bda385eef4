import { describe, expect, it } from 'vitest';
import { DrainTracker, planDrain, planPartition } from '../../src/kafka/drain-plan.js';

const p = (partition: number, low: number, high: number, committed: number | null) => ({
  topic: 't',
  partition,
  low,
  high,
  committed,
});

describe('drain plan', () => {
  it('should start a group without a commit at the log start', () => {
    expect(planPartition(p(0, 5, 12, null))).toMatchObject({ start: 5, pending: 7 });
  });

  it('should resume at the committed offset', () => {
    expect(planPartition(p(0, 0, 12, 10))).toMatchObject({ start: 10, pending: 2 });
    expect(planPartition(p(0, 0, 12, 10)).gap).toBeUndefined();
  });

  it('should report a retention gap when the committed offset is below the log start, and read on from the log start', () => {
    const plan = planPartition(p(3, 100, 150, 40));
    expect(plan).toMatchObject({ start: 100, pending: 50 });
    expect(plan.gap).toEqual({ topic: 't', partition: 3, committed: 40, logStart: 100, lost: 60 });
  });

  it('should start over from the log start when the committed offset is beyond the high watermark', () => {
    const plan = planPartition(p(0, 0, 5, 9));
    expect(plan).toMatchObject({ start: 0, pending: 5 });
    expect(plan.reset).toEqual({ topic: 't', partition: 0, committed: 9, high: 5, restartAt: 0 });
  });

  it('should read nothing from partitions at their watermark, or empty ones', () => {
    const drain = planDrain([p(1, 0, 10, 10), p(0, 0, 0, null), p(2, 7, 7, 3), p(3, 0, 4, 1)]);
    expect(drain.partitions.map((x) => x.partition)).toEqual([0, 1, 2, 3]);
    expect(drain.toRead.map((x) => x.partition)).toEqual([3]);
    expect(drain.pending).toBe(3);
    expect(drain.gaps).toEqual([{ topic: 't', partition: 2, committed: 3, logStart: 7, lost: 4 }]);
  });
});

describe('drain tracker', () => {
  it('should finish a partition when the message just below the start-time watermark is taken', () => {
    const t = new DrainTracker(planDrain([p(0, 0, 3, null)]).toRead);
    expect(t.lagLeft).toBe(3);
    expect([t.offer('t', 0, 0), t.offer('t', 0, 1)]).toEqual([true, true]);
    expect(t.done).toBe(false);
    expect(t.offer('t', 0, 2)).toBe(true);
    expect(t.done).toBe(true);
    expect(t.lagLeft).toBe(0);
    expect(t.takeNewlyDone()).toEqual([{ topic: 't', partition: 0 }]);
    expect(t.takeNewlyDone()).toEqual([]);
  });

  it('should drop messages at or beyond the watermark (a producer still writing) and never take them', () => {
    const t = new DrainTracker(planDrain([p(0, 0, 2, null), p(1, 0, 2, null)]).toRead);
    expect(t.offer('t', 0, 0)).toBe(true);
    expect(t.offer('t', 0, 2)).toBe(false); // a hole (compaction) up to the watermark: done
    expect(t.offer('t', 0, 3)).toBe(false);
    expect(t.nextOffset('t', 0)).toBe(1);
    expect(t.done).toBe(false);
    expect(t.offer('t', 1, 0)).toBe(true);
    expect(t.offer('t', 1, 1)).toBe(true);
    expect(t.done).toBe(true);
  });

  it('should finish a partition on an end-of-partition event at or beyond the watermark (transaction markers)', () => {
    const t = new DrainTracker(planDrain([p(0, 0, 10, 8)]).toRead);
    expect(t.offer('t', 0, 8)).toBe(true);
    t.endOfPartition('t', 0, 9);
    expect(t.done).toBe(false);
    t.endOfPartition('t', 0, 10);
    expect(t.done).toBe(true);
  });

  it('should ignore duplicates and partitions it does not follow', () => {
    const t = new DrainTracker(planDrain([p(0, 0, 5, 2)]).toRead);
    expect(t.offer('t', 0, 1)).toBe(false);
    expect(t.offer('t', 0, 2)).toBe(true);
    expect(t.offer('t', 0, 2)).toBe(false);
    expect(t.offer('other', 0, 2)).toBe(false);
    expect(t.highWatermark('t', 0)).toBe(5);
    expect(t.lagLeft).toBe(2);
  });

  it('should count the offsets skipped over by a hole as read', () => {
    const t = new DrainTracker(planDrain([p(0, 0, 10, null)]).toRead);
    t.offer('t', 0, 4);
    expect(t.lagLeft).toBe(5);
  });
});
