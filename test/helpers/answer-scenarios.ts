/**
 * Seeded random histories for the answer's property test: arrivals at a few platforms (ties, gaps, missing
 * timetable times, checkpoints, a station that opens late) and incidents, cut into snapshots the way real
 * deliveries go wrong: late and out-of-order arrivals, events repeated in a later snapshot, whole snapshots replayed,
 * incidents resolved in a later snapshot than they were reported in, or never.
 */
import type { IncidentEvent } from '../../src/answer/events.js';
import { Random } from '../../src/answer/random.js';
import type { ArrivalRow } from './warehouse-fixtures.js';

export type IncidentRow = Partial<IncidentEvent> & Pick<IncidentEvent, 'occurred_at' | 'incident_id'>;

/** One delivery: the arrivals and incident events a snapshot holds. */
export interface ScenarioSnapshot {
  arrivals: ArrivalRow[];
  incidents: IncidentRow[];
}

const LINES = ['Blue', 'Red'];
const DIRECTIONS = ['northbound', 'southbound'];
const STATIONS = ['STN-001', 'STN-002', 'STN-003'];
/** The late-opening station's arrivals start this far into the history. */
const LATE_STATION = 'STN-009';
const SNAPSHOTS = 6;

const iso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

function platformArrivals(
  rnd: Random,
  station: string,
  line: string,
  direction: string,
  from: number,
  to: number,
): ArrivalRow[] {
  const rows: ArrivalRow[] = [];
  let t = from + rnd.int(0, 600);
  while (t < to) {
    const checkpoint = rnd.chance(0.05);
    rows.push({
      event_id: rnd.uuid(),
      occurred_at: iso(t + rnd.int(0, 999) / 1000),
      train_id: `${line.slice(0, 2).toUpperCase()}-${rnd.int(1000, 1030)}`,
      line,
      direction,
      station_id: station,
      ...(rnd.chance(0.9) && { station_name: `Station ${station}` }),
      ...(rnd.chance(0.8) && { scheduled_at: iso(t - rnd.int(-120, 600)) }),
      ...(checkpoint && { checkpoint_type: 'checkpoint' as const }),
      ...(!checkpoint && rnd.chance(0.5) && { checkpoint_type: 'station' as const }),
    });
    // Mostly regular service, some bunching (including the same instant), now and then a long gap.
    t += rnd.chance(0.04) ? rnd.int(2 * 3600, 5 * 3600) : rnd.chance(0.05) ? 0 : rnd.int(60, 1200);
  }
  return rows;
}

function incidentEvents(rnd: Random, from: number, to: number): IncidentRow[][] {
  return Array.from({ length: rnd.int(2, 5) }, (_, i) => {
    const id = `INC-${i}`;
    const line = rnd.pick(LINES);
    const reported = rnd.int(from, to);
    const base = { incident_id: id, line, severity: rnd.pick(['minor', 'major', 'critical'] as const) };
    const events: IncidentRow[] = [
      { ...base, event_id: rnd.uuid(), event_type: 'incident_reported', occurred_at: iso(reported), status: 'open' },
    ];
    if (rnd.chance(0.8))
      events.push({
        ...base,
        event_id: rnd.uuid(),
        event_type: 'incident_resolved',
        occurred_at: iso(reported + rnd.int(300, 3 * 3600)),
        status: 'resolved',
      });
    return events;
  });
}

/** A random history of about `hours` hours from `start`, cut into snapshots (see the module comment). */
export function scenario(seed: string, start: string, hours: number): ScenarioSnapshot[] {
  const rnd = new Random(seed);
  const from = Date.parse(start) / 1000;
  const to = from + hours * 3600;
  const arrivals: ArrivalRow[] = [];
  for (const line of LINES)
    for (const direction of DIRECTIONS) {
      for (const station of STATIONS) arrivals.push(...platformArrivals(rnd, station, line, direction, from, to));
      arrivals.push(...platformArrivals(rnd, LATE_STATION, line, direction, from + (to - from) / 2, to));
    }
  arrivals.sort((a, b) => a.occurred_at.localeCompare(b.occurred_at));
  const snaps: ScenarioSnapshot[] = Array.from({ length: SNAPSHOTS }, () => ({ arrivals: [], incidents: [] }));
  arrivals.forEach((a, i) => {
    const due = Math.floor((i * SNAPSHOTS) / arrivals.length);
    // Late: delivered in a later snapshot than its time says; repeated: delivered again later.
    const at = rnd.chance(0.1) ? rnd.int(due, SNAPSHOTS - 1) : due;
    snaps[at]!.arrivals.push(a);
    if (rnd.chance(0.05)) snaps[rnd.int(at, SNAPSHOTS - 1)]!.arrivals.push({ ...a });
  });
  for (const events of incidentEvents(rnd, from, to))
    for (const e of events) snaps[rnd.int(0, SNAPSHOTS - 1)]!.incidents.push(e);
  // Out of order within a snapshot, and one whole snapshot replayed later.
  for (const s of snaps) s.arrivals.sort(() => rnd.next() - 0.5);
  const replayed = rnd.int(0, SNAPSHOTS - 2);
  snaps.splice(rnd.int(replayed + 1, SNAPSHOTS), 0, snaps[replayed]!);
  return snaps;
}
