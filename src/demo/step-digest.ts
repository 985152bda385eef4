/**
 * One readable line per demo step, from the JSON summary the step's command printed last on stdout
 * (`simulate: 29,812 events into train-arrivals (29,700) and incidents (112), 0 failed, 1.2 s`). The demo keeps
 * the full JSON in the step's output file; this line is what a person reads on the terminal.
 */
import type { ExtractSummary } from '../extract/extract-summary.js';
import type { LoadSummary } from '../warehouse/load-run.js';

/** The fields of simulate's summary the digest reads (src/cli/simulate.ts). */
interface SimulateDigestFields {
  status: string;
  events: number;
  failed: number;
  topics: Record<string, { messages: number }>;
}

/** Any command's failure summary (src/cli/run-command.ts), and the status every summary has. */
interface CommonFields {
  status?: unknown;
  error?: { code?: unknown; message?: unknown };
  /** What a command with nothing to do says why (its status the reason's code). */
  message?: unknown;
}

/** Digits grouped by thousands, as the commands' own log lines write them. */
const count = (n: number | undefined): string => (n ?? 0).toLocaleString('en-US');
const plural = (n: number, word: string): string => `${count(n)} ${word}${n === 1 ? '' : 's'}`;
/** Seconds with one decimal: the step's wall time as the demo measured it. */
const seconds = (s: number): string => `${s.toFixed(1)} s`;
const listed = (parts: string[]): string =>
  parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;

function simulateDigest(s: SimulateDigestFields): string {
  const topics = Object.entries(s.topics ?? {}).map(([t, v]) => `${t} (${count(v.messages)})`);
  return `${plural(s.events, 'event')} into ${listed(topics)}, ${count(s.failed)} failed`;
}

function extractDigest(s: ExtractSummary): string {
  const partitions = s.partitions ?? [];
  if (s.status === 'nothing_new')
    return `nothing new (group ${s.groupId} is at the end of all ${partitions.length} partitions)`;
  const drained = partitions.filter((p) => p.messages > 0).length;
  return (
    `${plural(s.counts.events, 'event')}, ${count(s.counts.rejected)} rejected, ` +
    `from ${drained} of ${plural(partitions.length, 'partition')}` +
    (s.committed ? ', offsets committed' : ', offsets not committed')
  );
}

function loadDigest(s: LoadSummary): string {
  if (s.status === 'nothing_pending' || s.status === 'answer_built')
    return (
      `nothing pending (${plural(s.skipped?.alreadyLoaded ?? 0, 'listed snapshot')} already loaded)` +
      (s.status === 'answer_built' ? ', wait-time answer built' : '')
    );
  const t = s.totals;
  const created = s.migration?.tablesCreated?.length ?? 0;
  const outcome = s.migration?.views;
  const views = outcome && 'created' in outcome ? outcome.created.length : 0;
  const verb = s.status === 'dry_run' ? 'would insert' : 'inserted';
  return (
    `${plural(t.snapshots, 'snapshot')}, ${plural(t.events, 'event')}: ${plural(t.inserted, 'row')} ${verb}, ` +
    `${count(t.updated)} updated, ${count(t.unchanged)} unchanged, ${count(t.quarantined)} quarantined` +
    // Views are replaced on every load: worth a word only with the tables of a first load.
    (created ? ` (${plural(created, 'table')} and ${plural(views, 'view')} created)` : '')
  );
}

/** The digest of a step whose command succeeded; undefined for a step it does not know. */
function countsDigest(step: string, summary: unknown): string | undefined {
  switch (step) {
    case 'simulate':
      return simulateDigest(summary as SimulateDigestFields);
    case 'extract':
      return extractDigest(summary as ExtractSummary);
    case 'load':
      return loadDigest(summary as LoadSummary);
    default:
      return undefined;
  }
}

/** Statuses after which a digest of the counts makes sense; others (failed, refused) show their error. */
const COUNTED = new Set(['ok', 'loaded', 'dry_run', 'nothing_new', 'nothing_pending', 'answer_built']);

/**
 * The digest line of one step: `<step>: <what it did>, <wall time>`. `lastLine` is the command's last stdout
 * line; a line that is not a JSON summary, or a failure, is said as such instead of being cut.
 */
export function stepDigest(step: string, lastLine: string, wallSeconds: number): string {
  let summary: CommonFields;
  try {
    summary = JSON.parse(lastLine) as CommonFields;
  } catch {
    return `${step}: printed no JSON summary, ${seconds(wallSeconds)}`;
  }
  const status = String(summary.status ?? 'unknown');
  const digest = COUNTED.has(status) ? countsDigest(step, summary) : undefined;
  if (digest !== undefined) return `${step}: ${digest}, ${seconds(wallSeconds)}`;
  const e = summary.error;
  const code = e && String(e.code) !== status ? ` (${String(e.code)})` : '';
  const why = e ? `${code}: ${String(e.message)}` : summary.message !== undefined ? `: ${String(summary.message)}` : '';
  return `${step}: ${status}${why}, ${seconds(wallSeconds)}`;
}
