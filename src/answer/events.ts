/**
 * The events the simulator produces, shaped exactly as the data contract says
 * (schemas/train_arrival.schema.json and schemas/incident.schema.json).
 */

/** A train arrived at a station or passed a checkpoint. Topic `train-arrivals`, key = train id. */
export interface TrainArrivalEvent {
  event_id: string;
  event_type: 'train_arrival';
  occurred_at: string;
  train_id: string;
  line: string;
  direction: string;
  station_id: string;
  station_name?: string;
  scheduled_at?: string;
  dwell_seconds?: number;
  checkpoint_type?: 'station' | 'checkpoint';
}

export type Severity = 'minor' | 'major' | 'critical';

/** An incident was reported, updated or resolved. Topic `incidents`, key = incident id. */
export interface IncidentEvent {
  event_id: string;
  event_type: 'incident_reported' | 'incident_updated' | 'incident_resolved';
  occurred_at: string;
  incident_id: string;
  line: string;
  severity: Severity;
  status: 'open' | 'resolved';
  station_id?: string;
  description?: string;
}

/** One simulated message: which kind of topic it goes to, its key, its value and its time. */
export type SimulatedEvent =
  | { kind: 'arrival'; key: string; value: TrainArrivalEvent; epochSeconds: number }
  | { kind: 'incident'; key: string; value: IncidentEvent; epochSeconds: number };

/** Seconds since the epoch as RFC 3339 UTC, e.g. `2026-11-27T07:45:12Z`. */
export function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}
