import { describe, expect, it } from 'vitest';
import { ExitCode, UsageError } from '../../src/basics/errors.js';
import { pruneResult, resolvePruneSettings } from '../../src/cli/prune.js';

describe('resolvePruneSettings', () => {
  it('should take flags before the environment, and default the grace to 24 hours', () => {
    expect(resolvePruneSettings({ snapshots: '/snaps' }, { EVENTFUL_SNAPSHOTS: '/other' })).toEqual({
      snapshots: '/snaps',
      graceMs: 24 * 3_600_000,
      dryRun: false,
    });
    expect(
      resolvePruneSettings(
        {},
        { EVENTFUL_SNAPSHOTS: 's3://lake/raw', EVENTFUL_PRUNE_GRACE: '7d', EVENTFUL_DRY_RUN: 'true' },
      ),
    ).toEqual({ snapshots: 's3://lake/raw', graceMs: 7 * 86_400_000, dryRun: true });
    expect(
      resolvePruneSettings({ snapshots: '/s', grace: '0', dryRun: false }, { EVENTFUL_DRY_RUN: '1' }),
    ).toMatchObject({
      graceMs: 0,
      dryRun: false,
    });
  });

  it('should refuse a missing location and a bad grace with usage errors', () => {
    expect(() => resolvePruneSettings({}, {})).toThrow(UsageError);
    expect(() => resolvePruneSettings({ snapshots: '/s', grace: 'a day' }, {})).toThrow(/--grace must be a duration/);
    expect(() => resolvePruneSettings({ snapshots: '/s' }, { EVENTFUL_PRUNE_GRACE: 'x' })).toThrow(
      /EVENTFUL_PRUNE_GRACE/,
    );
    expect(() => resolvePruneSettings({ snapshots: ['/a', '/b'] }, {})).toThrow(/more than once/);
    // 24 without its unit read as 24 ms would remove the folder of an extract still writing it.
    expect(() => resolvePruneSettings({ snapshots: '/s', grace: '24' }, {})).toThrow(
      /--grace must be a duration: "24" has no unit: write 24s, 24m, 24h or 24d/,
    );
  });

  it('should read grace periods in seconds, minutes, hours and days', () => {
    const grace = (text: string): number => resolvePruneSettings({ snapshots: '/a', grace: text }, {}).graceMs;
    expect(grace('90s')).toBe(90_000);
    expect(grace('30m')).toBe(1_800_000);
    expect(grace('2d')).toBe(172_800_000);
    expect(() => grace('soon')).toThrow(/--grace/);
  });
});

describe('pruneResult', () => {
  it('should exit 99 when there was nothing to prune', () => {
    const r = pruneResult('/s', 1000, { dryRun: false, cutoff: 'c', candidates: [], removed: 0 });
    expect(r.exitCode).toBe(ExitCode.NothingToDo);
    expect(r.summary).toMatchObject({ command: 'prune', status: 'nothing_to_prune', found: 0 });
  });

  it('should count what was found and removed', () => {
    const c = { id: 'a', location: '/s/.tmp-a', objects: 2, bytes: 10, lastModified: 'x' };
    const r = pruneResult('/s', 1000, { dryRun: false, cutoff: 'c', candidates: [c, { ...c, id: 'b' }], removed: 2 });
    expect(r.exitCode).toBe(ExitCode.Ok);
    expect(r.summary).toMatchObject({ status: 'ok', found: 2, removed: 2, objects: 4, bytes: 20 });
  });
});
