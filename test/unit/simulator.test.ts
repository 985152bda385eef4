import { beforeAll, describe, expect, it } from 'vitest';
import type { IncidentEvent, SimulatedEvent, TrainArrivalEvent } from '../../src/answer/events.js';
import { NETWORK } from '../../src/answer/network.js';
import { Random } from '../../src/answer/random.js';
import { MIN_SEPARATION_SECONDS, simulate, type SimulationOptions } from '../../src/answer/simulator.js';
import { parseSimulatedDuration, parseStartTime, startOfUtcDay } from '../../src/answer/simulation-settings.js';
import { SimulationTally } from '../../src/answer/simulation-tally.js';
import { DEFAULT_SCHEMAS_DIR, SchemaRegistry } from '../../src/schema/registry.js';

const DAY = 86_400;
const START = Date.parse('2026-11-26T00:00:00Z') / 1000;
const run = (options: Partial<SimulationOptions> = {}): SimulatedEvent[] => [
  ...simulate({ seed: 'unit', startSeconds: START, durationSeconds: DAY, ...options }),
];
const arrivals = (events: SimulatedEvent[]): TrainArrivalEvent[] =>
  events.flatMap((e) => (e.kind === 'arrival' ? [e.value] : []));
const incidentsOf = (events: SimulatedEvent[]): IncidentEvent[] =>
  events.flatMap((e) => (e.kind === 'incident' ? [e.value] : []));
const secondsOf = (iso: string): number => Date.parse(iso) / 1000;
const hourOf = (iso: string): number => new Date(iso).getUTCHours() + new Date(iso).getUTCMinutes() / 60;

/** Station arrivals at one station, line and direction, in time order. */
function stationArrivals(events: TrainArrivalEvent[], stationId: string, line: string, direction: string) {
  return events.filter(
    (a) =>
      a.station_id === stationId && a.line === line && a.direction === direction && a.checkpoint_type === 'station',
  );
}

describe('the seeded random stream', () => {
  it('should repeat the same numbers for the same seed and differ for another', () => {
    const a = new Random('s');
    const b = new Random('s');
    const c = new Random('t');
    const xs = Array.from({ length: 5 }, () => a.uint32());
    expect(Array.from({ length: 5 }, () => b.uint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.uint32())).not.toEqual(xs);
  });

  it('should make version-4 shaped UUIDs', () => {
    const r = new Random('uuid');
    for (let i = 0; i < 100; i++)
      expect(r.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('the simulator', () => {
  let day: SimulatedEvent[];
  beforeAll(() => {
    day = run();
  });

  it('should reproduce every event exactly from the same seed and start', () => {
    expect(run()).toEqual(day);
  });

  it('should produce other events, with other ids, from another seed or another start', () => {
    const other = run({ seed: 'other' });
    expect(other[0]).not.toEqual(day[0]);
    const ids = new Set(day.map((e) => e.value.event_id));
    expect(other.some((e) => ids.has(e.value.event_id))).toBe(false);
    const nextDay = run({ startSeconds: START + DAY });
    expect(nextDay.some((e) => ids.has(e.value.event_id))).toBe(false);
  });

  it('should reproduce a shorter run as the prefix of a longer one', () => {
    const half = run({ durationSeconds: DAY / 2 });
    expect(half).toEqual(day.filter((e) => e.epochSeconds < START + DAY / 2));
  });

  it('should emit events in time order, inside the window, with unique ids', () => {
    for (let i = 1; i < day.length; i++) expect(day[i]!.epochSeconds).toBeGreaterThanOrEqual(day[i - 1]!.epochSeconds);
    expect(day[0]!.epochSeconds).toBeGreaterThanOrEqual(START);
    expect(day[day.length - 1]!.epochSeconds).toBeLessThan(START + DAY);
    expect(new Set(day.map((e) => e.value.event_id)).size).toBe(day.length);
    for (const e of day) expect(secondsOf(e.value.occurred_at)).toBe(e.epochSeconds);
  });

  it('should validate every event against the shipped schemas', async () => {
    const { registry, problems } = await SchemaRegistry.load(DEFAULT_SCHEMAS_DIR);
    expect(problems).toEqual([]);
    const bad = day
      .map((e) => registry.check(e.kind === 'arrival' ? 'train-arrivals' : 'incidents', { ...e.value }))
      .filter((r) => 'reason' in r);
    expect(bad).toEqual([]);
  });

  it('should key arrivals by train id and incidents by incident id', () => {
    for (const e of day) expect(e.key).toBe(e.kind === 'arrival' ? e.value.train_id : e.value.incident_id);
  });

  it('should run every line in both directions, each train turning round to run both ways', () => {
    const all = arrivals(day);
    for (const line of NETWORK) {
      const ofLine = all.filter((a) => a.line === line.name);
      expect(new Set(ofLine.map((a) => a.direction))).toEqual(new Set(line.directions));
      const directionsByTrain = new Map<string, Set<string>>();
      for (const a of ofLine)
        directionsByTrain.set(a.train_id, (directionsByTrain.get(a.train_id) ?? new Set()).add(a.direction));
      const both = [...directionsByTrain.values()].filter((d) => d.size === 2).length;
      expect(both / directionsByTrain.size).toBeGreaterThan(0.8);
      for (const id of directionsByTrain.keys()) expect(id).toMatch(new RegExp(`^${line.code}-\\d{4}$`));
    }
  });

  it('should visit stations in line order and report a checkpoint between every two stations', () => {
    const blue = NETWORK[0]!;
    const byTrain = new Map<string, TrainArrivalEvent[]>();
    for (const a of arrivals(day))
      if (a.line === blue.name) byTrain.set(a.train_id, [...(byTrain.get(a.train_id) ?? []), a]);
    const trip = [...byTrain.values()][5]!.slice(0, 6);
    const forward = blue.stations.map((s) => s.id);
    const path = trip.filter((a) => a.checkpoint_type === 'station').map((a) => a.station_id);
    const order = trip[0]!.direction === blue.directions[0] ? forward : [...forward].reverse();
    const i = order.indexOf(path[0]!);
    expect(path).toEqual(order.slice(i, i + path.length));
    expect(trip.map((a) => a.checkpoint_type)).toEqual(
      trip[0]!.checkpoint_type === 'station'
        ? ['station', 'checkpoint', 'station', 'checkpoint', 'station', 'checkpoint']
        : ['checkpoint', 'station', 'checkpoint', 'station', 'checkpoint', 'station'],
    );
    expect(trip.filter((a) => a.checkpoint_type === 'checkpoint').every((a) => a.station_id.startsWith('CHK-'))).toBe(
      true,
    );
  });

  it('should give station arrivals a name, a scheduled time and a dwell, and checkpoints none of them', () => {
    for (const a of arrivals(day)) {
      if (a.checkpoint_type === 'station') {
        expect(a.station_name).toBeTruthy();
        expect(a.scheduled_at).toBeTruthy();
        expect(a.dwell_seconds).toBeGreaterThanOrEqual(0);
      } else {
        expect(a).not.toHaveProperty('scheduled_at');
        expect(a).not.toHaveProperty('station_name');
      }
    }
  });

  it('should schedule trains every 3–5 minutes at peak, 8–12 off-peak and sparsely at night', () => {
    const all = arrivals(day);
    for (const line of NETWORK) {
      const station = line.stations[Math.floor(line.stations.length / 2)]!;
      const at = stationArrivals(all, station.id, line.name, line.directions[0]);
      const scheduled = at.map((a) => secondsOf(a.scheduled_at!));
      const gaps = (fromHour: number, toHour: number): number[] =>
        at.slice(1).flatMap((a, i) => {
          const h = hourOf(a.scheduled_at!);
          const prev = hourOf(at[i]!.scheduled_at!);
          return prev >= fromHour && h < toHour ? [(scheduled[i + 1]! - scheduled[i]!) / 60] : [];
        });
      const peak = gaps(7.75, 9);
      const offPeak = gaps(11, 15);
      const night = gaps(1, 4);
      expect(peak.length).toBeGreaterThan(10);
      for (const g of peak) (expect(g).toBeGreaterThanOrEqual(2.9), expect(g).toBeLessThanOrEqual(5.1));
      for (const g of offPeak) (expect(g).toBeGreaterThanOrEqual(7.9), expect(g).toBeLessThanOrEqual(12.1));
      for (const g of night) expect(g).toBeGreaterThanOrEqual(19.9);
    }
  });

  it('should make real headways irregular, with bunched trains, but never closer than the signalling allows', () => {
    const all = arrivals(day);
    let bunched = 0;
    let late = 0;
    let total = 0;
    for (const line of NETWORK)
      for (const direction of line.directions)
        for (const station of line.stations) {
          const at = stationArrivals(all, station.id, line.name, direction);
          for (let i = 1; i < at.length; i++) {
            const h = secondsOf(at[i]!.occurred_at) - secondsOf(at[i - 1]!.occurred_at);
            const scheduled = secondsOf(at[i]!.scheduled_at!) - secondsOf(at[i - 1]!.scheduled_at!);
            expect(h).toBeGreaterThanOrEqual(MIN_SEPARATION_SECONDS);
            if (h < scheduled / 2) bunched++;
            if (secondsOf(at[i]!.occurred_at) - secondsOf(at[i]!.scheduled_at!) > 120) late++;
            total++;
          }
        }
    expect(bunched / total).toBeGreaterThan(0.01);
    expect(late / total).toBeGreaterThan(0.02);
    expect(late / total).toBeLessThan(0.5);
  });

  it('should tell each incident as reported, then updated, then resolved', () => {
    const events = incidentsOf(run({ durationSeconds: 3 * DAY }));
    const byId = new Map<string, IncidentEvent[]>();
    for (const e of events) byId.set(e.incident_id, [...(byId.get(e.incident_id) ?? []), e]);
    expect(byId.size).toBeGreaterThan(5);
    for (const list of byId.values()) {
      const types = list.map((e) => e.event_type);
      expect(types[0]).toBe('incident_reported');
      expect(types.slice(1, -1).every((t) => t === 'incident_updated')).toBe(true);
      if (list.length > 1 && types[types.length - 1] === 'incident_resolved') {
        expect(list[list.length - 1]!.status).toBe('resolved');
        expect(list.slice(0, -1).every((e) => e.status === 'open')).toBe(true);
      }
      expect(new Set(list.map((e) => e.line)).size).toBe(1);
      const times = list.map((e) => secondsOf(e.occurred_at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    }
    expect(
      [...byId.values()].filter((l) => l[l.length - 1]!.event_type === 'incident_resolved').length,
    ).toBeGreaterThan(byId.size / 2);
  });

  it('should stop a line while a critical incident is open and slow it while a lesser one is', () => {
    const events = run({ durationSeconds: 4 * DAY, incidentsPerLinePerDay: 6 });
    const all = arrivals(events);
    const incidents = incidentsOf(events);
    // Phases: from each event of an open incident to the next event of the same incident.
    const phases = incidents.flatMap((e, i) => {
      const next = incidents.slice(i + 1).find((n) => n.incident_id === e.incident_id);
      return e.status === 'open' && next
        ? [{ line: e.line, severity: e.severity, from: secondsOf(e.occurred_at), to: secondsOf(next.occurred_at) }]
        : [];
    });
    const critical = phases.filter((p) => p.severity === 'critical' && p.to - p.from > 15 * 60);
    expect(critical.length).toBeGreaterThan(0);
    for (const p of critical) {
      // Trains already running reach their next station (a few minutes); then nothing moves until the phase ends.
      const moving = all.filter(
        (a) => a.line === p.line && secondsOf(a.occurred_at) >= p.from + 12 * 60 && secondsOf(a.occurred_at) < p.to,
      );
      const overlapping = phases.some((q) => q !== p && q.line === p.line && q.from < p.to && q.to > p.from + 12 * 60);
      if (!overlapping) expect(moving).toEqual([]);
    }
    const meanLateness = (of: TrainArrivalEvent[]): number => {
      const xs = of.filter((a) => a.scheduled_at).map((a) => secondsOf(a.occurred_at) - secondsOf(a.scheduled_at!));
      return xs.reduce((s, x) => s + x, 0) / xs.length;
    };
    const duringIncidents = all.filter((a) => {
      const t = secondsOf(a.occurred_at);
      return phases.some((p) => p.line === a.line && t >= p.from && t < p.to);
    });
    const calm = arrivals(run({ durationSeconds: 4 * DAY, incidentsPerLinePerDay: 0 }));
    expect(meanLateness(duringIncidents)).toBeGreaterThan(3 * meanLateness(calm));
  });

  it('should refuse a duration that is not a positive whole number of seconds', () => {
    expect(() => run({ durationSeconds: 0 })).toThrow(/durationSeconds/);
    expect(() => run({ startSeconds: 1.5 })).toThrow(/startSeconds/);
  });
});

describe('a long simulation', () => {
  it('should start at once however long it runs (its incidents once overflowed the call stack at 100,000 days)', () => {
    const events = simulate({ seed: 'long', startSeconds: START, durationSeconds: 100_000 * DAY });
    const first = events.next();
    expect(first.done).toBe(false);
    expect(first.value!.epochSeconds).toBeGreaterThanOrEqual(START);
  });
});

describe('the simulation tally', () => {
  it('should count messages by topic and kind, with the trains, incidents and time span', () => {
    const events = run({ durationSeconds: 6 * 3600 });
    const tally = new SimulationTally(['a', 'i']);
    for (const e of events) tally.add(e.kind === 'arrival' ? 'a' : 'i', e);
    const c = tally.counts();
    expect(tally.total).toBe(events.length);
    expect(c.topics['a']!.by_type['station_arrival']! + c.topics['a']!.by_type['checkpoint_passage']!).toBe(
      c.topics['a']!.messages,
    );
    expect(c.first_event_at).toBe(events[0]!.value.occurred_at);
    expect(c.trains).toBe(new Set(arrivals(events).map((a) => a.train_id)).size);
  });
});

describe('the simulation settings', () => {
  it('should read durations such as 24h, 90m, 2d and 1h30m', () => {
    expect(parseSimulatedDuration('24h')).toBe(DAY);
    expect(parseSimulatedDuration('90m')).toBe(5400);
    expect(parseSimulatedDuration('2d')).toBe(2 * DAY);
    expect(parseSimulatedDuration('1h30m')).toBe(5400);
    expect(parseSimulatedDuration('0h')).toBeUndefined();
    expect(parseSimulatedDuration('soon')).toBeUndefined();
    expect(parseSimulatedDuration('15')).toBeUndefined();
  });

  it('should read a start without a zone as UTC', () => {
    expect(parseStartTime('2026-11-26')).toBe(START);
    expect(parseStartTime('2026-11-26T00:00')).toBe(START);
    expect(parseStartTime('2026-11-26T01:00:00+01:00')).toBe(START);
    expect(parseStartTime('yesterday')).toBeUndefined();
    expect(startOfUtcDay(Date.parse('2026-11-26T17:45:12.345Z'))).toBe(START);
  });
});
