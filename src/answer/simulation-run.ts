/**
 * One run of the traffic simulator: produces the simulated events to Kafka (or NDJSON on stdout), paced,
 * with progress on the log, stopping cleanly on SIGTERM/SIGINT, and summarises what was delivered.
 */
import { createTopics, KafkaSink, NdjsonSink, type EventSink, type SinkResult } from './event-sinks.js';
import { isoSeconds } from './events.js';
import { SimulationTally } from './simulation-tally.js';
import { simulate } from './simulator.js';
import type { KafkaProperties } from '../config/kafka-config.js';
import type { CommandResult } from '../basics/command-result.js';
import { ExitCode } from '../basics/errors.js';
import { Throttle, type Logger } from '../basics/log.js';

/** Let timers (delivery reports, signals, progress) run at least this often in a tight loop. */
const YIELD_EVERY_EVENTS = 5_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What to simulate and where to send it: checked settings, no flags. */
export interface SimulationRunSettings {
  seed: string;
  startSeconds: number;
  durationSeconds: number;
  incidentsPerLinePerDay: number;
  /** Events per second of wall-clock time; 0 = as fast as the sink takes them. */
  rate: number;
  topics: { arrival: string; incident: string };
  /** NDJSON to stdout instead of Kafka. */
  dryRun: boolean;
  /** Kafka client properties (unused in a dry run). */
  kafka: Readonly<KafkaProperties>;
  /** Create the two topics first when they do not exist (never in a dry run). */
  createTopics?: { partitions: number; replicationFactor: number };
  progressIntervalMs: number;
}

/** The progress of a run, shared by the producing loop, the progress log and the summary. */
interface RunState {
  readonly sink: EventSink;
  readonly tally: SimulationTally;
  readonly began: number;
  reached: number;
  /** Set by SIGTERM or SIGINT. */
  readonly stop: { signal?: NodeJS.Signals };
}

/** Creates the topics when asked; returns what happened to each, for the summary. */
async function createTopicsIfAsked(s: SimulationRunSettings, log: Logger): Promise<Record<string, string> | undefined> {
  if (!s.createTopics || s.dryRun) return undefined;
  const created = await createTopics(
    s.kafka,
    [s.topics.arrival, s.topics.incident],
    s.createTopics.partitions,
    s.createTopics.replicationFactor,
  );
  log.info(
    `topics: ${Object.entries(created)
      .map(([t, st]) => `${t} ${st}`)
      .join(', ')}`,
  );
  return created;
}

/** Marks the run as stopping on SIGTERM or SIGINT, so the loop ends after the queued messages are delivered. */
function stopOnSignals(log: Logger): { signal?: NodeJS.Signals } {
  const stop: { signal?: NodeJS.Signals } = {};
  const onSignal = (signal: NodeJS.Signals): void => {
    stop.signal = signal;
    log.warn(`${signal}: stopping after the messages already queued are delivered`);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return stop;
}

/** A progress logger: at most one line per interval, or at once when forced. */
function progressReporter(state: RunState, intervalMs: number, log: Logger): (force?: boolean) => void {
  const progress = new Throttle(intervalMs);
  progress.ready(); // the first report after one interval, not at once
  return (force = false): void => {
    if (!progress.ready(force)) return;
    const s = (Date.now() - state.began) / 1000;
    log.info(
      `${state.tally.total} events (${Math.round(state.tally.total / Math.max(s, 0.001))}/s), ` +
        `${state.sink.delivered} delivered, simulated time ${isoSeconds(state.reached)}`,
    );
  };
}

/** Waits as `rate` asks, or yields now and then so timers run when producing as fast as possible. */
async function pace(state: RunState, rate: number): Promise<void> {
  if (rate > 0) {
    const due = state.began + (state.tally.total / rate) * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
  } else if (state.tally.total % YIELD_EVERY_EVENTS === 0) await new Promise((r) => setImmediate(r));
}

/** Sends every simulated event to its topic until the span ends or a signal stops the run. */
async function produceEvents(s: SimulationRunSettings, state: RunState, report: () => void): Promise<void> {
  const events = simulate({
    seed: s.seed,
    startSeconds: s.startSeconds,
    durationSeconds: s.durationSeconds,
    incidentsPerLinePerDay: s.incidentsPerLinePerDay,
  });
  for (const event of events) {
    if (state.stop.signal) break;
    const topic = s.topics[event.kind];
    await state.sink.send(topic, event.key, event.value);
    state.tally.add(topic, event);
    state.reached = event.epochSeconds;
    await pace(state, s.rate);
    report();
  }
}

/** Produces all events, then closes the sink (also when producing failed) and returns its delivery result. */
async function produceAndClose(s: SimulationRunSettings, state: RunState, report: () => void): Promise<SinkResult> {
  try {
    await produceEvents(s, state, report);
  } catch (err) {
    await state.sink.close().catch(() => undefined);
    throw err;
  }
  return state.sink.close();
}

/** The JSON summary of a finished run and its exit code; logs failed deliveries and an interruption. */
function summarise(
  s: SimulationRunSettings,
  state: RunState,
  result: SinkResult,
  topicsCreated: Record<string, string> | undefined,
  log: Logger,
): CommandResult {
  const { tally } = state;
  const stopping = state.stop.signal;
  const elapsed = (Date.now() - state.began) / 1000;
  const summary = {
    status: stopping ? 'interrupted' : result.failed > 0 ? 'failed' : 'ok',
    dry_run: s.dryRun,
    seed: s.seed,
    start: isoSeconds(s.startSeconds),
    end: isoSeconds(s.startSeconds + s.durationSeconds),
    simulated_seconds: s.durationSeconds,
    ...tally.counts(),
    events: tally.total,
    delivered: result.delivered,
    failed: result.failed,
    ...(result.firstError !== undefined && { error: { code: 'delivery_failed', message: result.firstError } }),
    ...(topicsCreated && { topics_created: topicsCreated }),
    elapsed_seconds: Math.round(elapsed * 1000) / 1000,
    events_per_second: Math.round(tally.total / Math.max(elapsed, 0.001)),
  };
  if (result.failed > 0)
    log.error(`${result.failed} messages were not delivered: ${result.firstError ?? 'unknown error'}`);
  if (stopping) log.warn(`stopped by ${stopping} after ${tally.total} events`);
  return { summary, exitCode: stopping || result.failed > 0 ? ExitCode.Failure : ExitCode.Ok };
}

/**
 * Runs the simulation: announces it, creates the topics when asked, produces every event and summarises.
 * The exit code is a failure when a message was not delivered or a signal stopped the run.
 */
export async function runSimulation(s: SimulationRunSettings, log: Logger): Promise<CommandResult> {
  log.info(
    `simulating ${isoSeconds(s.startSeconds)} → ${isoSeconds(s.startSeconds + s.durationSeconds)} with seed ` +
      `"${s.seed}"` +
      (s.dryRun ? ' (dry run: NDJSON to stdout)' : ` to ${String(s.kafka['bootstrap.servers'])}`),
  );
  const topicsCreated = await createTopicsIfAsked(s, log);
  const stop = stopOnSignals(log);
  const sink: EventSink = s.dryRun
    ? new NdjsonSink(process.stdout)
    : await KafkaSink.connect(s.kafka, [s.topics.arrival, s.topics.incident]);
  const state: RunState = {
    sink,
    tally: new SimulationTally([s.topics.arrival, s.topics.incident]),
    began: Date.now(),
    reached: s.startSeconds,
    stop,
  };
  const report = progressReporter(state, s.progressIntervalMs, log);
  const result = await produceAndClose(s, state, report);
  report(true);
  return summarise(s, state, result, topicsCreated, log);
}
