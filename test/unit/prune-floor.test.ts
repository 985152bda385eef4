import { describe, expect, it } from 'vitest';
import { snapshotStamp } from '../../src/snapshot/format.js';
import { idOfKey, parsePruneFloor, raisedFloor } from '../../src/snapshot/prune-floor.js';

const HOUR = 3_600_000;

describe('prune floor', () => {
  const now = new Date('2026-12-06T10:00:00.000Z');

  it('should rise to twice the grace period before the run, and never fall below the floor it listed from', () => {
    expect(raisedFloor(undefined, now, 24 * HOUR)).toBe('20261204T100000000Z');
    expect(raisedFloor('20261101T000000000Z', now, 24 * HOUR)).toBe('20261204T100000000Z');
    // A run with a longer grace than the last one keeps the last one's floor: below it was settled already.
    expect(raisedFloor('20261205T000000000Z', now, 7 * 24 * HOUR)).toBe('20261205T000000000Z');
    expect(raisedFloor(undefined, now, 0)).toBe(snapshotStamp(now));
    // Past the dates a Date can hold, nothing is settled.
    expect(raisedFloor(undefined, now, 1e16)).toBe('');
    expect(raisedFloor('20200101T000000000Z', now, 1e16)).toBe('20200101T000000000Z');
  });

  it('should read only a floor written as one, and take anything else for none', () => {
    expect(parsePruneFloor('{"floor":"20261204T100000000Z","sweepFrom":""}', now)).toEqual({
      floor: '20261204T100000000Z',
      sweepFrom: '',
    });
    expect(parsePruneFloor('{"floor":"","sweepFrom":"x/y"}', now)).toEqual({ floor: '', sweepFrom: 'x/y' });
    for (const text of [
      '',
      'not a floor',
      'null',
      '[]',
      '{"floor":1,"sweepFrom":""}',
      '{"floor":"x"}',
      '{"floor":"zzz","sweepFrom":""}',
      // Later than now (a clock ahead, a hand edit): it would hide every new leftover from the listing.
      '{"floor":"20991231T000000000Z","sweepFrom":""}',
    ])
      expect(parsePruneFloor(text, now), text).toBeUndefined();
  });

  it('should name the snapshot id of a key, or the name of an object right under the root', () => {
    expect(idOfKey('lake/', 'lake/20261204T100000000Z_run_ab/attempt-1/events.ndjson')).toBe(
      '20261204T100000000Z_run_ab',
    );
    expect(idOfKey('lake/', 'lake/.eventful-prune-floor.json')).toBe('.eventful-prune-floor.json');
    expect(idOfKey('', 'id/manifest.json')).toBe('id');
  });
});
