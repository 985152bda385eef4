/**
 * A deterministic simulator of metro traffic: trains running both directions of every line of
 * {@link NETWORK}, reporting arrivals at stations and passages of checkpoints, plus incidents.
 *
 * The model, in short:
 * - Each terminus dispatches trips at the timetable's headway for the time of day (peak 3–5 min,
 *   off-peak 8–12, late evening 12–15, night 20–30). A trip is served by a train waiting at that
 *   terminus after its turnaround; when none is free, another train joins from the depot.
 * - Running times vary a little at random; now and then a train is held for a few minutes
 *   (a door fault, a crowded platform). Dwell grows with the gap to the train ahead (more people
 *   board a late train), so late trains get later and their followers catch up: bunching.
 *   No train departs early, and a train never gets closer than {@link MIN_SEPARATION_SECONDS}
 *   to the one ahead (one track per direction, no overtaking).
 * - Incidents (see incidents.ts) slow every train of their line while open; a critical one
 *   holds trains at their platforms until it is downgraded or resolved.
 *
 * Everything random comes from one seeded stream per line (and per line's incidents), derived
 * from the seed and the start time: the same seed and start reproduce every event and event id.
 * Events come out in time order (ties in a fixed order), and a longer run reproduces a shorter
 * run with the same seed and start as its prefix.
 */
import { isoSeconds, type SimulatedEvent, type TrainArrivalEvent } from './events.js';
import { INCIDENT_EFFECTS, incidentEvents, LineDisruptions, planIncidents, type PlannedIncident } from './incidents.js';
import { NETWORK, scheduledDwellSeconds, scheduledHeadwaySeconds, type Line } from './network.js';
import { Random } from './random.js';

/** What to simulate. */
export interface SimulationOptions {
  /** Any text. With the same `startSeconds` it reproduces every event exactly. */
  seed: string;
  /** Start of the simulated time, whole seconds since the epoch. */
  startSeconds: number;
  /** Length of the simulated time, seconds (> 0). */
  durationSeconds: number;
  /** Incidents per line per simulated day, on average (default {@link SIMULATION_DEFAULTS}). */
  incidentsPerLinePerDay?: number;
  /** The lines to run (default: the whole {@link NETWORK}). */
  network?: readonly Line[];
}

export const SIMULATION_DEFAULTS = {
  incidentsPerLinePerDay: 2.5,
} as const;

/** Trains ahead are closer than this only at the platform they leave: the signalling keeps them apart. */
export const MIN_SEPARATION_SECONDS = 60;
/** Trips start this long before the simulated window so trains are already spread along the lines. */
const WARM_UP_SECONDS = 2 * 3600;
/** Events are sorted and released in windows of this much simulated time. */
const WINDOW_SECONDS = 3600;
/** A trip leaves its terminus 0–45 s after the timetable, or, with this chance, 1–5 min late. */
const LATE_START_CHANCE = 0.04;
/** Running time = scheduled × a normal factor (mean 1, this spread), clamped to RUN_FACTOR. */
const RUN_SPREAD = 0.06;
const RUN_FACTOR = { min: 0.92, max: 1.3 } as const;
/** The chance, per segment, that a train is held 1–4 minutes between stations. */
const RANDOM_HOLD_CHANCE = 0.012;
/** Dwell = scheduled × (1 − w + w × clamp(gap / scheduled gap)): how much a gap lengthens boarding. */
const DWELL_LOAD_WEIGHT = 0.45;
const LOAD_RATIO = { min: 0.5, max: 3 } as const;
/** Turnaround at a terminus before the train can run the other way. */
const LAYOVER_SECONDS = 180;
/** After a critical incident phase ends, held trains leave within this many seconds. */
const RESTART_JITTER_SECONDS = 30;
const FIRST_TRAIN_NUMBER = 1001;

const clamp = (x: number, min: number, max: number): number => Math.min(max, Math.max(min, x));

/** One stop of a trip in travel order, and the segment that follows it (none at the last stop). */
interface Stop {
  stationId: string;
  stationName: string;
  next?: { runSeconds: number; checkpointId: string; checkpointFraction: number };
}

/** What a trip did at each stop, kept so the next trip of the same direction can follow it. */
interface TripTimes {
  scheduled: number[];
  arrive: number[];
  depart: number[];
  checkpoint: number[];
}

interface Train {
  id: string;
  /** The terminus it waits at: 0 = first station of the line, 1 = last. */
  terminus: 0 | 1;
  availableAt: number;
}

type Emit = (event: SimulatedEvent) => void;

/** Runs the trips of one line, both directions, in order of their scheduled start. */
class LineRunner {
  private readonly stops: [Stop[], Stop[]];
  private readonly nextStart: [number, number];
  private readonly previous: [TripTimes | undefined, TripTimes | undefined] = [undefined, undefined];
  private readonly fleet: Train[] = [];
  private readonly disruptions: LineDisruptions;

  constructor(
    private readonly line: Line,
    private readonly random: Random,
    incidents: readonly PlannedIncident[],
    firstStart: number,
  ) {
    const forward: Stop[] = line.stations.map((s, i) => {
      const seg = line.segments[i];
      return {
        stationId: s.id,
        stationName: s.name,
        ...(seg && {
          next: { runSeconds: seg.runSeconds, checkpointId: seg.checkpointId, checkpointFraction: seg.checkpointAt },
        }),
      };
    });
    const backward: Stop[] = [...line.stations].reverse().map((s, j) => {
      const seg = line.segments[line.stations.length - 2 - j];
      return {
        stationId: s.id,
        stationName: s.name,
        ...(seg && {
          next: {
            runSeconds: seg.runSeconds,
            checkpointId: seg.checkpointId,
            checkpointFraction: 1 - seg.checkpointAt,
          },
        }),
      };
    });
    this.stops = [forward, backward];
    this.disruptions = new LineDisruptions(incidents);
    this.nextStart = [firstStart, firstStart + Math.round(scheduledHeadwaySeconds(line, firstStart) / 2)];
  }

  /** Runs every trip scheduled to start before `limit`, emitting its events. */
  runUntil(limit: number, emit: Emit): void {
    for (;;) {
      const direction: 0 | 1 = this.nextStart[1] < this.nextStart[0] ? 1 : 0;
      const start = this.nextStart[direction];
      if (start >= limit) return;
      this.runTrip(direction, start, emit);
      this.nextStart[direction] = start + scheduledHeadwaySeconds(this.line, start);
    }
  }

  private takeTrain(terminus: 0 | 1, at: number): Train {
    let best: Train | undefined;
    for (const t of this.fleet)
      if (t.terminus === terminus && t.availableAt <= at && (!best || t.availableAt < best.availableAt)) best = t;
    if (best) return best;
    const train: Train = {
      id: `${this.line.code}-${FIRST_TRAIN_NUMBER + this.fleet.length}`,
      terminus,
      availableAt: at,
    };
    this.fleet.push(train);
    return train;
  }

  /** The first moment at or after `t` when no critical incident holds trains at their platforms. */
  private releaseTime(t: number): number {
    for (let d = this.disruptions.at(t); d && INCIDENT_EFFECTS[d.severity].stopsLine; d = this.disruptions.at(t))
      t = d.until + this.random.int(0, RESTART_JITTER_SECONDS);
    return t;
  }

  private runTrip(direction: 0 | 1, scheduledStart: number, emit: Emit): void {
    const r = this.random;
    const stops = this.stops[direction];
    const prev = this.previous[direction];
    const dirName = this.line.directions[direction];
    const times: TripTimes = { scheduled: [], arrive: [], depart: [], checkpoint: [] };

    // The timetable of this trip.
    let s = scheduledStart;
    const scheduledDepart: number[] = [];
    for (const stop of stops) {
      times.scheduled.push(s);
      scheduledDepart.push(s + scheduledDwellSeconds(s));
      s = scheduledDepart[scheduledDepart.length - 1]! + (stop.next?.runSeconds ?? 0);
    }

    // A train comes out to its first platform like any other move: not while the line is held.
    let t = this.releaseTime(scheduledStart + (r.chance(LATE_START_CHANCE) ? r.int(60, 300) : r.int(0, 45)));
    const train = this.takeTrain(direction, t);
    const arrival = (at: number, stationId: string, extra: Partial<TrainArrivalEvent>): void =>
      emit({
        kind: 'arrival',
        key: train.id,
        epochSeconds: at,
        value: {
          event_id: r.uuid(),
          event_type: 'train_arrival',
          occurred_at: isoSeconds(at),
          train_id: train.id,
          line: this.line.name,
          direction: dirName,
          station_id: stationId,
          ...extra,
        },
      });

    stops.forEach((stop, i) => {
      const arrive = prev ? Math.max(t, prev.depart[i]! + MIN_SEPARATION_SECONDS) : t;
      const scheduledGap = prev ? times.scheduled[i]! - prev.scheduled[i]! : 0;
      const load =
        prev && scheduledGap > 0 ? clamp((arrive - prev.arrive[i]!) / scheduledGap, LOAD_RATIO.min, LOAD_RATIO.max) : 1;
      const disruption = this.disruptions.at(arrive);
      const dwell =
        Math.round(
          scheduledDwellSeconds(times.scheduled[i]!) *
            (1 - DWELL_LOAD_WEIGHT + DWELL_LOAD_WEIGHT * load) *
            r.between(0.9, 1.15),
        ) + (disruption ? INCIDENT_EFFECTS[disruption.severity].extraDwellSeconds : 0);
      // No early departures; no departure at all while a critical incident holds the line.
      const depart = stop.next ? this.releaseTime(Math.max(arrive + dwell, scheduledDepart[i]!)) : arrive + dwell;
      times.arrive.push(arrive);
      times.depart.push(depart);
      arrival(arrive, stop.stationId, {
        station_name: stop.stationName,
        scheduled_at: isoSeconds(times.scheduled[i]!),
        dwell_seconds: depart - arrive,
        checkpoint_type: 'station',
      });
      if (!stop.next) return;
      const slow = this.disruptions.at(depart);
      let run = stop.next.runSeconds * clamp(r.normal(1, RUN_SPREAD), RUN_FACTOR.min, RUN_FACTOR.max);
      if (slow) run *= INCIDENT_EFFECTS[slow.severity].runFactor;
      const hold = r.chance(RANDOM_HOLD_CHANCE) ? r.int(60, 240) : 0;
      let passed = depart + Math.round(run * stop.next.checkpointFraction) + hold;
      if (prev) passed = Math.max(passed, prev.checkpoint[i]! + MIN_SEPARATION_SECONDS);
      times.checkpoint.push(passed);
      arrival(passed, stop.next.checkpointId, { checkpoint_type: 'checkpoint' });
      t = passed + Math.round(run * (1 - stop.next.checkpointFraction));
    });

    train.terminus = direction === 0 ? 1 : 0;
    train.availableAt = times.depart[times.depart.length - 1]! + LAYOVER_SECONDS;
    this.previous[direction] = times;
  }
}

/** Checks the options; a message names the bad field. */
export function simulationProblem(options: SimulationOptions): string | undefined {
  if (!Number.isInteger(options.startSeconds)) return 'startSeconds must be whole seconds since the epoch';
  if (!Number.isInteger(options.durationSeconds) || options.durationSeconds <= 0)
    return 'durationSeconds must be a positive whole number of seconds';
  const rate = options.incidentsPerLinePerDay;
  if (rate !== undefined && !(rate >= 0 && Number.isFinite(rate))) return 'incidentsPerLinePerDay must be a number ≥ 0';
  return undefined;
}

/**
 * Simulates traffic from `startSeconds` for `durationSeconds` and yields every event in time order.
 * Pure and lazy: memory stays bounded by about two hours of events whatever the duration.
 */
export function* simulate(options: SimulationOptions): Generator<SimulatedEvent> {
  const problem = simulationProblem(options);
  if (problem) throw new RangeError(problem);
  const start = options.startSeconds;
  const end = start + options.durationSeconds;
  const perDay = options.incidentsPerLinePerDay ?? SIMULATION_DEFAULTS.incidentsPerLinePerDay;
  const root = new Random(`${options.seed}@${isoSeconds(start)}`);
  const lines = options.network ?? NETWORK;

  const incidents: PlannedIncident[] = [];
  const runners = lines.map((line) => {
    const planned = planIncidents(root.fork(`incidents/${line.name}`), line, start, end, perDay);
    // One by one: spread as arguments, a long simulation's incidents (100,000 days) overflowed the call stack.
    for (const incident of planned) incidents.push(incident);
    return new LineRunner(line, root.fork(`line/${line.name}`), planned, start - WARM_UP_SECONDS);
  });
  incidents.sort((a, b) => a.reportedAt - b.reportedAt || a.id.localeCompare(b.id));

  let pending: Array<{ seq: number; event: SimulatedEvent }> = [];
  let seq = 0;
  const emit: Emit = (event) => {
    if (event.epochSeconds >= start && event.epochSeconds < end) pending.push({ seq: seq++, event });
  };
  let nextIncident = 0;
  // Every trip scheduled to start at or after `until` has all its events at or after `until`,
  // and so have all events of an incident reported then: what is before `until` is final.
  for (let until = start + WINDOW_SECONDS; ; until += WINDOW_SECONDS) {
    const limit = Math.min(until, end);
    for (const runner of runners) runner.runUntil(limit, emit);
    for (; nextIncident < incidents.length && incidents[nextIncident]!.reportedAt < limit; nextIncident++) {
      const inc = incidents[nextIncident]!;
      for (const e of incidentEvents(inc)) emit({ kind: 'incident', key: inc.id, ...e });
    }
    pending.sort((a, b) => a.event.epochSeconds - b.event.epochSeconds || a.seq - b.seq);
    const ready = pending.findIndex((p) => p.event.epochSeconds >= limit);
    const count = ready === -1 ? pending.length : ready;
    for (let i = 0; i < count; i++) yield pending[i]!.event;
    pending = pending.slice(count);
    if (limit >= end) return;
  }
}
