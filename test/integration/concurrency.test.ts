import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedOffsets, createTopic, produce, uniqueTopic } from '../helpers/kafka.js';
import { connect, freshSchema } from '../helpers/pg.js';
import { runCommand } from '../helpers/run.js';
import {
  arrival,
  schemasFor,
  snapshots,
  startExtract,
  summaryOf,
  tempDir,
  waitUntilStopped,
} from './extract-fixtures.js';

let client: pg.Client;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.end();
});

/** `n` arrival values (JSON text) with fresh event ids, keyed by train. */
function arrivals(n: number, from = 0): Array<{ value: string; key: string }> {
  return Array.from({ length: n }, (_, i) => ({
    value: JSON.stringify(arrival(from + i)),
    key: `BL-${1000 + ((from + i) % 50)}`,
  }));
}

const idOf = (m: { value: string }): string => (JSON.parse(m.value) as { event_id: string }).event_id;

async function warehouseIds(schema: string): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(`SELECT event_id::text AS id FROM "${schema}".train_arrivals`);
  return rows.map((r) => r.id);
}

async function setup(prefix: string) {
  const topic = uniqueTopic(prefix);
  await createTopic(topic, 6);
  const schemas = await schemasFor([topic]);
  const root = await tempDir('snapshots');
  const group = `g-${randomUUID()}`;
  const schema = await freshSchema(client, 'conc');
  const extractArgs = ['--topics', topic, '--group-id', group, '--out', root, '--schemas', schemas];
  const loadArgs = ['--snapshots', root, '--schemas', schemas, '--db-schema', schema];
  return { topic, schemas, root, group, schema, extractArgs, loadArgs };
}

// An operator's mistake (a manual run while the scheduled one runs), or a mapped task overlapping a retry: two
// extracts of the same group at once. extract assigns partitions by hand (no group membership, so no rebalance
// fences either run): both read from the same committed offsets to their own start-time watermarks, both publish
// a snapshot and both commit. The second snapshot repeats the first one's events; load's upsert skips them.
describe('two extracts of the same group at once', () => {
  it('should both snapshot the same events and commit; load keeps one row per event, nothing lost', async () => {
    const { topic, root, group, schema, extractArgs, loadArgs } = await setup('conc-same');
    const produced = arrivals(20_000);
    await produce(topic, produced);

    const [a, b] = await Promise.all([startExtract(extractArgs).done, startExtract(extractArgs).done]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(summaryOf(a).counts.events).toBe(20_000);
    expect(summaryOf(b).counts.events).toBe(20_000);
    const manifests = await snapshots(root);
    expect(manifests.length).toBe(2);
    // The same ranges, read twice.
    expect(manifests[1]!.partitions).toEqual(manifests[0]!.partitions);
    const committed = await committedOffsets(group, topic, 6);
    expect(committed.reduce((x, y) => x + y, 0)).toBe(20_000);

    const loaded = await runCommand('load', loadArgs);
    expect(loaded.code, loaded.stderr).toBe(0);
    const s = loaded.summary as { totals: { snapshots: number; inserted: number; unchanged: number } };
    expect(s.totals).toMatchObject({ snapshots: 2, inserted: 20_000, unchanged: 20_000 });
    const ids = await warehouseIds(schema);
    expect(ids.length).toBe(20_000);
    expect(new Set(ids)).toEqual(new Set(produced.map(idOf)));
  });

  it('should lose nothing when the earlier run commits last, moving the committed offsets back', async () => {
    const { topic, root, group, schema, extractArgs, loadArgs } = await setup('conc-busy');
    const produced = arrivals(10_000);
    await produce(topic, produced);
    let producing = true;
    let n = 10_000;
    const producer = (async () => {
      while (producing) {
        const batch = arrivals(200, n);
        n += 200;
        await produce(topic, batch);
        produced.push(...batch);
      }
    })();
    // The first run is paused (SIGSTOP: a VM pause, a stuck disk) right after publishing, before its commit; the
    // second runs meanwhile from the same committed offsets to later watermarks and commits; then the first
    // resumes and commits its own, lower, offsets.
    const first = startExtract(extractArgs, { EVENTFUL_TEST_STOP_AT: 'after-publish' });
    await waitUntilStopped(first.child.pid!);
    const b = await startExtract(extractArgs).done;
    expect(b.code, b.stderr).toBe(0);
    const afterSecond = await committedOffsets(group, topic, 6);
    first.child.kill('SIGCONT');
    const a = await first.done;
    expect(a.code, a.stderr).toBe(0);
    const afterFirst = await committedOffsets(group, topic, 6);
    producing = false;
    await producer;
    const commitsOf = (r: typeof a): number[] => {
      const out = Array<number>(6).fill(-1001);
      for (const p of summaryOf(r).partitions as Array<{ partition: number; commitOffset: number | null }>)
        if (p.commitOffset !== null) out[p.partition] = p.commitOffset;
      return out;
    };
    expect(afterSecond).toEqual(commitsOf(b));
    expect(afterFirst).toEqual(commitsOf(a));
    // Moved back: the second run's extra events are below no committed offset any more.
    for (let p = 0; p < 6; p++) expect(afterFirst[p]!).toBeLessThanOrEqual(afterSecond[p]!);
    expect(afterFirst.some((c, p) => c < afterSecond[p]!)).toBe(true);

    // The next runs read those events again (a third snapshot overlapping the second); load keeps one row each.
    for (let i = 0; i < 5; i++) {
      const next = await startExtract(extractArgs).done;
      if (next.code === 99) break;
      expect(next.code, next.stderr).toBe(0);
    }
    const manifests = await snapshots(root);
    expect(manifests.length).toBeGreaterThanOrEqual(3);
    const loaded = await runCommand('load', loadArgs);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect((loaded.summary as { totals: { unchanged: number } }).totals.unchanged).toBeGreaterThan(10_000);
    const ids = await warehouseIds(schema);
    expect(ids.length).toBe(produced.length);
    expect(new Set(ids)).toEqual(new Set(produced.map(idOf)));
    expect((await committedOffsets(group, topic, 6)).reduce((x, y) => x + y, 0)).toBe(produced.length);
  });
});

describe('two loads at once into the same schema', () => {
  it('should take turns (advisory lock) and load each snapshot once', async () => {
    const { topic, schema, extractArgs, loadArgs } = await setup('conc-load');
    const produced = arrivals(6_000);
    for (let i = 0; i < 3; i++) {
      await produce(topic, produced.slice(i * 2000, (i + 1) * 2000));
      expect((await startExtract(extractArgs).done).code).toBe(0);
    }
    const [a, b] = await Promise.all([runCommand('load', loadArgs), runCommand('load', loadArgs)]);
    // One loads the three snapshots; the other waits for the lock and then finds nothing pending.
    expect([a.code, b.code].sort()).toEqual([0, 99]);
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${schema}".eventful_load_ledger`);
    expect(rows[0].n).toBe(3);
    expect(new Set(await warehouseIds(schema))).toEqual(new Set(produced.map(idOf)));
  });
});
