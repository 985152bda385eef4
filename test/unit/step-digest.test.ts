import { describe, expect, it } from 'vitest';
import { stepDigest } from '../../src/demo/step-digest.js';

const partition = (messages: number) => ({ topic: 'train-arrivals', partition: 0, messages });

describe('stepDigest', () => {
  it('should say what simulate produced into each topic', () => {
    const summary = {
      status: 'ok',
      events: 29_812,
      delivered: 29_812,
      failed: 0,
      topics: { 'train-arrivals': { messages: 29_700 }, incidents: { messages: 112 } },
    };
    expect(stepDigest('simulate', JSON.stringify(summary), 1.234)).toBe(
      'simulate: 29,812 events into train-arrivals (29,700) and incidents (112), 0 failed, 1.2 s',
    );
  });

  it("should give extract's events, rejected, partitions drained and whether offsets were committed", () => {
    const summary = {
      command: 'extract',
      status: 'ok',
      groupId: 'eventful-demo',
      committed: true,
      counts: { messages: 29_812, events: 29_810, rejected: 2 },
      partitions: [partition(29_000), partition(812), partition(0)],
    };
    expect(stepDigest('extract', JSON.stringify(summary), 2.96)).toBe(
      'extract: 29,810 events, 2 rejected, from 2 of 3 partitions, offsets committed, 3.0 s',
    );
  });

  it('should say nothing new when extract found every partition at its end', () => {
    const summary = { status: 'nothing_new', groupId: 'eventful-demo', partitions: [partition(0), partition(0)] };
    expect(stepDigest('extract', JSON.stringify(summary), 0.4)).toBe(
      'extract: nothing new (group eventful-demo is at the end of all 2 partitions), 0.4 s',
    );
  });

  it("should give load's totals and the tables and views it created", () => {
    const summary = {
      status: 'loaded',
      totals: { snapshots: 1, events: 1_024, inserted: 1_025, updated: 0, unchanged: 0, quarantined: 0 },
      skipped: { incomplete: [], alreadyLoaded: 0 },
      migration: { tablesCreated: ['a', 'b'], views: { created: ['v'] } },
    };
    expect(stepDigest('load', JSON.stringify(summary), 1.05)).toBe(
      'load: 1 snapshot, 1,024 events: 1,025 rows inserted, 0 updated, 0 unchanged, 0 quarantined ' +
        '(2 tables and 1 view created), 1.1 s',
    );
  });

  it('should not count the views a later load replaces as news', () => {
    const summary = {
      status: 'loaded',
      totals: { snapshots: 1, events: 2, inserted: 0, updated: 0, unchanged: 2, quarantined: 0 },
      migration: { tablesCreated: [], views: { created: ['v'] } },
    };
    expect(stepDigest('load', JSON.stringify(summary), 1)).toBe(
      'load: 1 snapshot, 2 events: 0 rows inserted, 0 updated, 2 unchanged, 0 quarantined, 1.0 s',
    );
  });

  it('should say nothing pending when every snapshot is already loaded', () => {
    const summary = { status: 'nothing_pending', totals: {}, skipped: { incomplete: [], alreadyLoaded: 3 } };
    expect(stepDigest('load', JSON.stringify(summary), 0.3)).toBe(
      'load: nothing pending (3 listed snapshots already loaded), 0.3 s',
    );
  });

  it('should show the error of a failed step in full rather than its counts', () => {
    const message = 'no schema applies to topics "x": add a *.schema.json naming it in "x-warehouse".topics';
    const summary = { status: 'failed', error: { code: 'usage', message } };
    expect(stepDigest('extract', JSON.stringify(summary), 0.3)).toBe(`extract: failed (usage): ${message}, 0.3 s`);
  });

  it('should not repeat an error code that is the status', () => {
    const summary = { status: 'refused', error: { code: 'refused', message: '--db-schema: bad' } };
    expect(stepDigest('load', JSON.stringify(summary), 2.6)).toBe('load: refused: --db-schema: bad, 2.6 s');
  });

  it('should say why a step had nothing to do', () => {
    const summary = { status: 'no_data', message: 'no headways in schema "public" yet' };
    expect(stepDigest('report', JSON.stringify(summary), 0.4)).toBe(
      'report: no_data: no headways in schema "public" yet, 0.4 s',
    );
  });

  it('should say so when the last line is not a JSON summary', () => {
    expect(stepDigest('load', 'Killed', 0.3)).toBe('load: printed no JSON summary, 0.3 s');
  });
});
