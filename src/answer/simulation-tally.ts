import { isoSeconds, type SimulatedEvent } from './events.js';

/** What a simulation produced, by topic and by kind of event: the body of `simulate`'s summary. */
export interface SimulationCounts {
  /** Messages per topic, and per kind of event within it. */
  topics: Record<string, { messages: number; by_type: Record<string, number> }>;
  trains: number;
  incidents: number;
  /** Time of the first and last event (RFC 3339), or null when there was none. */
  first_event_at: string | null;
  last_event_at: string | null;
}

/** The kind of an event for counting: station arrivals and checkpoint passages apart, incidents by type. */
function typeOf(event: SimulatedEvent): string {
  if (event.kind === 'incident') return event.value.event_type;
  return event.value.checkpoint_type === 'checkpoint' ? 'checkpoint_passage' : 'station_arrival';
}

/** Counts simulated events as they go by (pure: no I/O). */
export class SimulationTally {
  private readonly topics: SimulationCounts['topics'] = {};
  private readonly trains = new Set<string>();
  private readonly incidents = new Set<string>();
  private first: number | undefined;
  private last: number | undefined;

  /** @param topics topics to list in the counts even when nothing went to them */
  constructor(topics: readonly string[] = []) {
    for (const t of topics) this.topics[t] = { messages: 0, by_type: {} };
  }

  /** Counts one event that went to `topic`. */
  add(topic: string, event: SimulatedEvent): void {
    const t = (this.topics[topic] ??= { messages: 0, by_type: {} });
    t.messages++;
    const type = typeOf(event);
    t.by_type[type] = (t.by_type[type] ?? 0) + 1;
    if (event.kind === 'arrival') this.trains.add(event.key);
    else this.incidents.add(event.key);
    this.first ??= event.epochSeconds;
    this.last = event.epochSeconds;
  }

  get total(): number {
    return Object.values(this.topics).reduce((s, t) => s + t.messages, 0);
  }

  counts(): SimulationCounts {
    return {
      topics: this.topics,
      trains: this.trains.size,
      incidents: this.incidents.size,
      first_event_at: this.first === undefined ? null : isoSeconds(this.first),
      last_event_at: this.last === undefined ? null : isoSeconds(this.last),
    };
  }
}
