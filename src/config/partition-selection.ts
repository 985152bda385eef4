import { UsageError } from '../basics/errors.js';

/** Partitions chosen per topic (sorted, distinct). */
export type PartitionSelection = ReadonlyMap<string, readonly number[]>;

/** Kafka's legal topic name characters (at most 249 of them). */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const RANGE = /^(\d+)(?:-(\d+))?$/;
/** Guards against a typo like `0-99999999` allocating a huge list. */
const MAX_PARTITION = 100_000;

/** Checks a topic name the way Kafka does; returns the problem, if any. */
export function topicNameProblem(topic: string): string | undefined {
  if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..')
    return `"${topic}" is not a Kafka topic name (letters, digits, ".", "_" and "-", at most 249)`;
  return undefined;
}

/**
 * Parses `--partitions`: `topic:0-2,other:1` (ranges inclusive); an item without a topic continues the one
 * before it, so `topic:0,2,4-5` works too. `flag` names the setting in error messages.
 */
export function parsePartitionSelection(text: string, flag = '--partitions'): PartitionSelection {
  const byTopic = new Map<string, Set<number>>();
  let current: string | undefined;
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0)
    throw new UsageError(`${flag} is empty: give topic:partitions, e.g. ${flag} orders:0-2,refunds:1`);
  for (const item of items) {
    const colon = item.lastIndexOf(':');
    let spec = item;
    if (colon !== -1) {
      current = item.slice(0, colon).trim();
      spec = item.slice(colon + 1).trim();
      const problem = topicNameProblem(current);
      if (problem) throw new UsageError(`${flag}: ${problem}`);
    } else if (current === undefined || !RANGE.test(item)) {
      throw new UsageError(`${flag}: "${item}" must be topic:partitions, e.g. ${flag} orders:0-2,refunds:1`);
    }
    const m = RANGE.exec(spec);
    if (!m) throw new UsageError(`${flag}: "${spec}" in "${item}" is not a partition number or range like 0-2`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new UsageError(`${flag}: range "${spec}" runs backwards`);
    if (to > MAX_PARTITION) throw new UsageError(`${flag}: partition ${to} is out of range`);
    const set = byTopic.get(current!) ?? new Set<number>();
    for (let p = from; p <= to; p++) set.add(p);
    byTopic.set(current!, set);
  }
  return new Map([...byTopic].map(([t, set]) => [t, [...set].sort((a, b) => a - b)]));
}

/** Renders a selection back as `topic:0-2,other:1` (for logs and summaries). */
export function formatPartitionSelection(selection: PartitionSelection): string {
  const parts: string[] = [];
  for (const [topic, partitions] of selection) {
    const ranges: string[] = [];
    for (let i = 0; i < partitions.length;) {
      let j = i;
      while (j + 1 < partitions.length && partitions[j + 1] === partitions[j]! + 1) j++;
      ranges.push(i === j ? `${partitions[i]}` : `${partitions[i]}-${partitions[j]}`);
      i = j + 1;
    }
    parts.push(`${topic}:${ranges.join(',')}`);
  }
  return parts.join(',');
}
