import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { compareStateOrder } from '../../src/warehouse/state-order.js';
import { usePgClient } from '../helpers/load-test.js';
import { freshSchema } from '../helpers/pg.js';
import { runCommand as run } from '../helpers/run.js';
import {
  incident,
  LOAD_COLUMNS,
  tableRows,
  tempDir,
  writeSnapshot,
  type FixtureEvent,
} from '../helpers/snapshot-fixtures.js';

let client: pg.Client;
usePgClient((c) => (client = c));

/** A deterministic shuffle (so a failure can be reproduced). */
function shuffled<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Loads `batches` of events, one snapshot each, into a fresh schema in that order (snapshots written later
 * start later, and load loads oldest first), all in one run; returns the schema.
 */
async function loadInOrder(batches: FixtureEvent[][]): Promise<string> {
  const schema = await freshSchema(client, 'state');
  const root = await tempDir();
  const ids: string[] = [];
  for (const batch of batches) ids.push(await writeSnapshot(root, batch));
  const r = await run('load', ['--snapshots', root, '--db-schema', schema]);
  expect(r.code, r.stderr).toBe(0);
  expect((r.summary?.['results'] as Array<{ snapshotId: string }>).map((x) => x.snapshotId)).toEqual(ids);
  return schema;
}

/** An incident event (`incident(fields)`) at `offset` of partition 0 of the incidents topic. */
function incidentAt(offset: number, fields: Record<string, unknown>): FixtureEvent {
  return { topic: 'incidents', partition: 0, offset, value: incident(fields) };
}

/** The incident history: several incidents, updates with times out of offset order, and a tie on time. */
function history(): FixtureEvent[] {
  const events: FixtureEvent[] = [];
  const minutes = [0, 40, 10, 30, 20, 50, 50, 5];
  let offset = 0;
  for (const [n, id] of ['INC-1', 'INC-2', 'INC-3'].entries())
    for (const [i, m] of minutes.entries())
      events.push({
        topic: 'incidents',
        partition: n % 2,
        offset: offset++,
        value: incident({
          incident_id: id,
          occurred_at: new Date(Date.parse('2026-11-27T08:00:00Z') + (m + n) * 60_000).toISOString(),
          status: i === minutes.length - 3 ? 'resolved' : 'open',
          severity: ['minor', 'major', 'critical'][i % 3],
          description: `update ${i} of ${id}`,
        }),
      });
  return events;
}

/** What the state table must hold: per incident, the greatest event by (event time, topic, partition, offset). */
function expectedState(events: FixtureEvent[]): Map<string, FixtureEvent> {
  const best = new Map<string, FixtureEvent>();
  const key = (e: FixtureEvent): Parameters<typeof compareStateOrder>[0] => ({
    eventTimeMs: Date.parse(e.value['occurred_at'] as string),
    topic: e.topic,
    partition: e.partition,
    offset: e.offset,
  });
  for (const e of events) {
    const id = e.value['incident_id'] as string;
    const cur = best.get(id);
    if (!cur || compareStateOrder(key(e), key(cur)) > 0) best.set(id, e);
  }
  return best;
}

describe('load: the incidents state table', () => {
  it('should converge to the newest event of each incident whatever order the events arrive in', async () => {
    const events = history();
    const expected = expectedState(events);
    // In offset order in one snapshot; then shuffled over several snapshots (late events arriving later).
    const inOneGo = await loadInOrder([events]);
    const byPartition = (xs: FixtureEvent[]): FixtureEvent[] =>
      [...xs].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    const pieces = shuffled(events, 7);
    const scattered = await loadInOrder([pieces.slice(0, 5), pieces.slice(5, 11), pieces.slice(11)].map(byPartition));
    const backwards = await loadInOrder([...events].reverse().map((e) => [e]));

    for (const schema of [inOneGo, scattered, backwards]) {
      const { rows } = await client.query(
        `SELECT incident_id, event_id, status, description, _kafka_offset FROM "${schema}".incidents ORDER BY incident_id`,
      );
      expect(rows).toEqual(
        [...expected.values()]
          .sort((a, b) => String(a.value['incident_id']).localeCompare(String(b.value['incident_id'])))
          .map((e) => ({
            incident_id: e.value['incident_id'],
            event_id: e.value['event_id'],
            status: e.value['status'],
            description: e.value['description'],
            _kafka_offset: String(e.offset),
          })),
      );
    }
    const a = await tableRows(client, inOneGo, 'incidents', LOAD_COLUMNS);
    expect(await tableRows(client, scattered, 'incidents', LOAD_COLUMNS)).toEqual(a);
    expect(await tableRows(client, backwards, 'incidents', LOAD_COLUMNS)).toEqual(a);
    expect(await tableRows(client, backwards, 'incident_events', LOAD_COLUMNS)).toEqual(
      await tableRows(client, inOneGo, 'incident_events', LOAD_COLUMNS),
    );
  });

  it('should never roll state back when an older event arrives late or an event is replayed', async () => {
    const newer = incidentAt(5, { occurred_at: '2026-11-27T09:00:00Z', status: 'resolved' });
    const older = incidentAt(3, { occurred_at: '2026-11-27T08:00:00Z', status: 'open' });
    const schema = await loadInOrder([[newer], [older], [newer]]);
    const { rows } = await client.query(`SELECT status, event_id FROM "${schema}".incidents`);
    expect(rows).toEqual([{ status: 'resolved', event_id: newer.value['event_id'] }]);
  });

  it('should report state rows inserted, updated and unchanged', async () => {
    const schema = await freshSchema(client, 'state');
    const root = await tempDir();
    await writeSnapshot(root, [
      incidentAt(0, { incident_id: 'A', occurred_at: '2026-11-27T08:00:00Z' }),
      incidentAt(1, { incident_id: 'B', occurred_at: '2026-11-27T08:00:00Z' }),
    ]);
    expect((await run('load', ['--snapshots', root, '--db-schema', schema])).code).toBe(0);
    await writeSnapshot(root, [
      incidentAt(2, { incident_id: 'A', occurred_at: '2026-11-27T09:00:00Z' }),
      incidentAt(3, { incident_id: 'B', occurred_at: '2026-11-27T07:00:00Z' }),
      incidentAt(4, { incident_id: 'C', occurred_at: '2026-11-27T07:00:00Z' }),
    ]);
    const r = await run('load', ['--snapshots', root, '--db-schema', schema]);
    expect(r.code).toBe(0);
    const results = r.summary?.['results'] as Array<{ tables: Record<string, unknown> }>;
    expect(results[0]?.tables['incidents']).toEqual({ inserted: 1, updated: 1, unchanged: 1 });
  });
});
