import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectorySnapshotStore } from '../../src/snapshot/directory-store.js';
import { snapshotId, snapshotStamp, stampedTime } from '../../src/snapshot/format.js';
import { compareIds, idsInRange } from '../../src/snapshot/store.js';
import { LISTING_LOOKBACK_MS, listFromFloor, nextFloor, SWEEP_PAGE_IDS } from '../../src/warehouse/listing-floor.js';

const HOUR = 60 * 60 * 1000;
const NOW = new Date('2026-12-05T12:34:56.789Z');
/** The id of an extract that started `hoursAgo` before NOW. */
const idAt = (hoursAgo: number, run = 'hourly'): string =>
  snapshotId(new Date(NOW.getTime() - hoursAgo * HOUR), run, 'abc123');

describe('snapshot stamps', () => {
  it('should read back the start time a snapshot id was made with, and nothing from other ids', () => {
    const at = new Date('2026-11-27T06:15:00.123Z');
    expect(snapshotStamp(at)).toBe('20261127T061500123Z');
    expect(stampedTime(snapshotId(at, 'run', 'r'))).toEqual(at);
    expect(stampedTime('backfill-2025')).toBeUndefined();
    expect(stampedTime('20261399T000000000Z_bad-month')).toBeUndefined();
  });

  it('should order ids by start time, so a stamp is a floor for every id made later', () => {
    expect(idAt(5) < snapshotStamp(new Date(NOW.getTime() - 4 * HOUR))).toBe(true);
    expect(idAt(3) > snapshotStamp(new Date(NOW.getTime() - 4 * HOUR))).toBe(true);
  });
});

describe('idsInRange', () => {
  it('should keep the ids from `from` on (inclusive), ascending, the first `limit`', () => {
    expect(idsInRange(['c', 'a', 'd', 'b'], { from: 'b' })).toEqual(['b', 'c', 'd']);
    expect(idsInRange(['c', 'a', 'd', 'b'], { from: 'b', limit: 2 })).toEqual(['b', 'c']);
    expect(idsInRange(['b', 'a'])).toEqual(['a', 'b']);
  });

  it('should order ids as S3 lists their folders: `a-b/` and `a.b/` before `a/`', () => {
    expect(['a', 'b', 'a.b', 'a-b'].sort(compareIds)).toEqual(['a-b', 'a.b', 'a', 'b']);
    expect(idsInRange(['a', 'a-b', 'b'], { from: 'a' })).toEqual(['a', 'b']);
  });
});

describe('nextFloor', () => {
  // A day before NOW, at the hour before it.
  const lookback = '20261204T120000000Z';

  it('should rest at the lookback when every listed id is settled', () => {
    expect(nextFloor([], new Set(), NOW)).toBe(lookback);
  });

  it('should stop at the oldest id that failed to load, however old, so every run retries it', () => {
    const failed = idAt(24 * 30);
    expect(nextFloor([idAt(2), failed, 'manual-copy'], new Set(), NOW)).toBe(failed);
  });

  it('should keep an extract at work above the floor, but not one that started longer ago than the lookback', () => {
    const working = idAt(20);
    const killed = idAt(48);
    expect(nextFloor([working, killed], new Set([working, killed]), NOW)).toBe(lookback);
    expect(working > lookback).toBe(true);
    // Complete but not loaded, the same old id holds the floor.
    expect(nextFloor([working, killed], new Set([working]), NOW)).toBe(killed);
  });

  it('should stop at an unsettled id it cannot date, incomplete or not', () => {
    expect(nextFloor(['0-by-hand'], new Set(['0-by-hand']), NOW)).toBe('0-by-hand');
  });
});

describe('listFromFloor', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'eventful-listing-floor-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A store of `n` hourly snapshot folders, the newest an hour before NOW; returns their ids, ascending. */
  async function hourlyStore(n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, (_, i) => idAt(n - i));
    for (const id of ids) await mkdir(path.join(root, id));
    return ids;
  }

  it('should list every id without a floor', async () => {
    const ids = await hourlyStore(30);
    const listed = await listFromFloor(await DirectorySnapshotStore.open(root), undefined);
    expect(listed).toEqual({ listedAt: expect.any(Date), ids, full: true, from: null, swept: 0, nextSweepFrom: '' });
  });

  it('should list the ids from the floor on and sweep the older ones a page per run, starting over at the floor', async () => {
    const ids = await hourlyStore(2 * SWEEP_PAGE_IDS + 500);
    const store = await DirectorySnapshotStore.open(root);
    const floor = snapshotStamp(new Date(NOW.getTime() - LISTING_LOOKBACK_MS));
    const recent = ids.filter((id) => id >= floor);
    expect(recent).toHaveLength(24);

    const seen = new Set<string>();
    let sweepFrom = '';
    const runs: Array<{ listed: number; swept: number }> = [];
    for (let run = 0; run < 4; run++) {
      const listed = await listFromFloor(store, { floor, sweepFrom });
      expect(listed.full).toBe(false);
      expect(listed.from).toBe(floor);
      // Every run sees every id from the floor on, and at most a page of older ones.
      expect(listed.ids.filter((id) => id >= floor)).toEqual(recent);
      expect(listed.ids).toEqual([...listed.ids].sort());
      runs.push({ listed: listed.ids.length, swept: listed.swept });
      for (const id of listed.ids) seen.add(id);
      sweepFrom = listed.nextSweepFrom;
    }
    // Pages overlap by one id (a range starts at an id): 1,000 + 999 + the 477 left below the floor, then over.
    expect(runs.map((r) => r.swept)).toEqual([1000, 1000, 2500 - 24 - 1998, 1000]);
    expect(seen.size).toBe(ids.length);
  });

  it('should start the sweep over when the floor moved below where it was', async () => {
    const ids = await hourlyStore(50);
    const store = await DirectorySnapshotStore.open(root);
    const listed = await listFromFloor(store, { floor: ids[10]!, sweepFrom: ids[30]! });
    expect(listed.swept).toBe(0);
    expect(listed.nextSweepFrom).toBe('');
    expect(listed.ids).toEqual(ids.slice(10));
  });
});
