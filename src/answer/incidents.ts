/**
 * Simulated incidents: when they happen, how they evolve (reported → updated → resolved),
 * and how they slow or stop the trains of their line while open.
 */
import { isoSeconds, type IncidentEvent, type Severity } from './events.js';
import type { Line } from './network.js';
import type { Random } from './random.js';

/** How an open incident of each severity affects every train of its line. */
export const INCIDENT_EFFECTS: Readonly<
  Record<Severity, { runFactor: number; extraDwellSeconds: number; stopsLine: boolean }>
> = {
  /** Trains run at reduced speed. */
  minor: { runFactor: 1.3, extraDwellSeconds: 15, stopsLine: false },
  /** Trains crawl and stand longer at platforms. */
  major: { runFactor: 2, extraDwellSeconds: 45, stopsLine: false },
  /** No train leaves a platform until the phase ends (trains already running reach the next station). */
  critical: { runFactor: 2, extraDwellSeconds: 60, stopsLine: true },
};

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { minor: 1, major: 2, critical: 3 };
const SEVERITIES: readonly Severity[] = ['minor', 'major', 'critical'];
/** How likely each severity is when an incident is reported. */
const SEVERITY_WEIGHTS: Readonly<Record<Severity, number>> = { minor: 0.55, major: 0.33, critical: 0.12 };
/** How long an incident stays open, minutes, by its severity when reported. */
const DURATION_MINUTES: Readonly<Record<Severity, { min: number; max: number }>> = {
  minor: { min: 10, max: 30 },
  major: { min: 20, max: 60 },
  critical: { min: 15, max: 45 },
};
/** At an update, the chance the severity goes up or down one step. */
const ESCALATE_CHANCE = 0.25;
const DEESCALATE_CHANCE = 0.25;
/** Updates come no sooner than this after the report and no later than this before the resolution. */
const UPDATE_MARGIN_SECONDS = 120;
const SECOND_UPDATE_MIN_DURATION_SECONDS = 15 * 60;
const SECONDS_PER_DAY = 86_400;

const REPORTED = [
  'Signal failure',
  'Points failure',
  'Medical emergency on a train',
  'Person on the track',
  'Train door fault',
  'Power supply problem',
  'Track obstruction',
  'Police activity at the station',
] as const;
const UPDATES = [
  'Engineers on site',
  'Trains running at reduced speed',
  'Delays expected to continue',
  'Service partially restored',
] as const;

/** A span of an incident during which its severity stays the same. */
export interface IncidentPhase {
  from: number;
  severity: Severity;
  description: string;
}

/** An incident planned ahead of the traffic, so trips can feel its effect. Times are epoch seconds. */
export interface PlannedIncident {
  id: string;
  line: string;
  stationId: string;
  reportedAt: number;
  resolvedAt: number;
  /** `phases[0]` starts at `reportedAt`; each later phase starts at an update. */
  phases: IncidentPhase[];
  /** One per event: the report, each update, the resolution. */
  eventIds: string[];
}

/** Plans the incidents of one line reported in [from, to), as a Poisson process of `perDay` a day. */
export function planIncidents(random: Random, line: Line, from: number, to: number, perDay: number): PlannedIncident[] {
  const out: PlannedIncident[] = [];
  if (perDay <= 0) return out;
  for (
    let t = from + random.exponential(SECONDS_PER_DAY / perDay);
    t < to;
    t += random.exponential(SECONDS_PER_DAY / perDay)
  ) {
    const reportedAt = Math.floor(t);
    let severity = random.weighted(SEVERITY_WEIGHTS);
    const span = DURATION_MINUTES[severity];
    const resolvedAt = reportedAt + Math.round(random.between(span.min, span.max) * 60);
    const phases: IncidentPhase[] = [{ from: reportedAt, severity, description: random.pick(REPORTED) }];
    const updates = resolvedAt - reportedAt >= SECOND_UPDATE_MIN_DURATION_SECONDS && random.chance(0.5) ? 2 : 1;
    const times = Array.from({ length: updates }, () =>
      Math.floor(random.between(reportedAt + UPDATE_MARGIN_SECONDS, resolvedAt - UPDATE_MARGIN_SECONDS)),
    ).sort((a, b) => a - b);
    for (const at of times) {
      const r = random.next();
      const rank = SEVERITY_RANK[severity];
      if (r < ESCALATE_CHANCE && rank < SEVERITY_RANK.critical) severity = SEVERITIES[rank]!;
      else if (r > 1 - DEESCALATE_CHANCE && rank > SEVERITY_RANK.minor) severity = SEVERITIES[rank - 2]!;
      phases.push({ from: at, severity, description: random.pick(UPDATES) });
    }
    const day = isoSeconds(reportedAt).slice(0, 10).replaceAll('-', '');
    out.push({
      id: `INC-${day}-${random.hex(6).toUpperCase()}`,
      line: line.name,
      stationId: random.pick(line.stations).id,
      reportedAt,
      resolvedAt,
      phases,
      eventIds: Array.from({ length: phases.length + 1 }, () => random.uuid()),
    });
  }
  return out;
}

/** The events of an incident in time order: reported, updated…, resolved. */
export function incidentEvents(incident: PlannedIncident): Array<{ epochSeconds: number; value: IncidentEvent }> {
  const common = { incident_id: incident.id, line: incident.line, station_id: incident.stationId };
  const events: Array<{ epochSeconds: number; value: IncidentEvent }> = incident.phases.map((p, i) => ({
    epochSeconds: p.from,
    value: {
      event_id: incident.eventIds[i]!,
      event_type: i === 0 ? 'incident_reported' : 'incident_updated',
      occurred_at: isoSeconds(p.from),
      ...common,
      severity: p.severity,
      status: 'open',
      description: p.description,
    },
  }));
  const last = incident.phases[incident.phases.length - 1]!;
  events.push({
    epochSeconds: incident.resolvedAt,
    value: {
      event_id: incident.eventIds[incident.phases.length]!,
      event_type: 'incident_resolved',
      occurred_at: isoSeconds(incident.resolvedAt),
      ...common,
      severity: last.severity,
      status: 'resolved',
      description: 'Service restored',
    },
  });
  return events;
}

/** What the incidents open on a line do to a train at a moment. */
export interface Disruption {
  severity: Severity;
  /** When this severity ends (the next update or the resolution), epoch seconds. */
  until: number;
}

/** Looks up the worst open incident phase of one line at a moment. */
export class LineDisruptions {
  private readonly phases: Array<{ from: number; until: number; severity: Severity }>;

  constructor(incidents: readonly PlannedIncident[]) {
    this.phases = incidents.flatMap((inc) =>
      inc.phases.map((p, i) => ({
        from: p.from,
        until: inc.phases[i + 1]?.from ?? inc.resolvedAt,
        severity: p.severity,
      })),
    );
  }

  /** The worst phase open at `t` (ties: the one lasting longest), or undefined when the line runs normally. */
  at(t: number): Disruption | undefined {
    let worst: Disruption | undefined;
    for (const p of this.phases) {
      if (t < p.from || t >= p.until) continue;
      if (
        !worst ||
        SEVERITY_RANK[p.severity] > SEVERITY_RANK[worst.severity] ||
        (p.severity === worst.severity && p.until > worst.until)
      )
        worst = { severity: p.severity, until: p.until };
    }
    return worst;
  }
}
