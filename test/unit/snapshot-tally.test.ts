import { describe, expect, it } from 'vitest';
import { SnapshotTally } from '../../src/snapshot/snapshot-tally.js';

describe('snapshot tally', () => {
  it('should record runs of a partition as the same ranges and counts as message by message', () => {
    const offsets = [3, 4, 9, 0, 1, 10];
    const byRun = new SnapshotTally();
    byRun.seeRun('t', 0, offsets, 0, 3, 20);
    byRun.seeRun('t', 1, offsets, 3, 5, 5);
    byRun.seeRun('t', 0, offsets, 5, 6, 20);
    byRun.countEvents('t', 5);
    byRun.countRejected('not_json');
    const one = new SnapshotTally();
    const partitions = [0, 0, 0, 1, 1, 0];
    const highs = [20, 20, 20, 5, 5, 20];
    offsets.forEach((offset, i) => {
      const coordinates = { topic: 't', partition: partitions[i]!, offset, timestamp: null, headers: [] };
      if (i === 2)
        one.rejected(
          { ...coordinates, key_base64: null, value_base64: null, reason: { code: 'not_json', message: 'x' } },
          highs[i]!,
        );
      else one.event({ ...coordinates, key: null, value: {} }, highs[i]!);
    });
    expect(byRun.partitions()).toEqual(one.partitions());
    expect(byRun.counts).toEqual(one.counts);
    expect(byRun.partitions()[0]).toMatchObject({ firstOffset: 3, lastOffset: 10, messages: 4, highWatermark: 20 });
  });

  it('should refuse an offset that is not after the last one of its partition, within a run or across runs', () => {
    const tally = new SnapshotTally();
    expect(() => tally.seeRun('t', 0, [5, 5], 0, 2, 9)).toThrow(/offset 5 of t\[0\] is not after 5/);
    tally.seeRun('t', 1, [7], 0, 1, 9);
    expect(() => tally.seeRun('t', 1, [6], 0, 1, 9)).toThrow(/offset 6 of t\[1\] is not after 7/);
  });
});
