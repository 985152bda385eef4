import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/basics/log.js';
import { maintainAnswer, PROGRESS_ARRIVALS } from '../../src/warehouse/answer-maintenance.js';
import { resolveViewOptions } from '../../src/warehouse/view-options.js';

/** A stand-in for the connection that says every statement touched `rowCount` rows, and the log lines it gets. */
function fakeDb(rowCount: number): { db: { query: () => Promise<never> }; lines: string[]; log: Logger } {
  const lines: string[] = [];
  const note = (m: string): void => void lines.push(m);
  const log: Logger = { info: note, warn: note, error: note };
  const db = { query: async () => ({ rows: [], rowCount }) as never };
  return { db, lines, log };
}

describe('the answer phase of a big snapshot', () => {
  it('should log a progress line after each step once the snapshot has many station arrivals', async () => {
    const { db, lines, log } = fakeDb(PROGRESS_ARRIVALS);
    const counts = await maintainAnswer(db, 'public', resolveViewOptions(), { arrivals: 'pg_temp.x' }, log);
    expect(counts.arrivals).toBe(PROGRESS_ARRIVALS);
    expect(lines[0]).toMatch(/^wait-time answer 4\/\d+: taking the snapshot's station arrivals: done in \d+ ms$/);
    expect(lines.some((l) => /: linking them to their neighbours: done/.test(l))).toBe(true);
    expect(lines.some((l) => /: flagging the headways during incidents: done/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/: rolling the touched hours up into days: done/);
  });

  it('should stay quiet for an everyday snapshot', async () => {
    const { db, lines, log } = fakeDb(PROGRESS_ARRIVALS - 1);
    await maintainAnswer(db, 'public', resolveViewOptions(), { arrivals: 'pg_temp.x' }, log);
    expect(lines).toEqual([]);
  });
});
