import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventfulError, ExitCode, UsageError } from '../../src/basics/errors.js';
import type { Logger } from '../../src/basics/log.js';
import { resolveExtractSettings, type ExtractFlags } from '../../src/config/extract-settings.js';
import type { TopicPartition } from '../../src/kafka/drain-plan.js';
import type { ConsumedBatch, EventSource, RawMessage, TopicPartitionOffset } from '../../src/kafka/event-source.js';
import type { ExtractSummary } from '../../src/extract/extract-summary.js';
import { InlineDecoder } from '../../src/extract/decode-pool.js';
import { COMMIT_ATTEMPTS, runExtract, type ExtractDeps, type ExtractSchemas } from '../../src/extract/run-extract.js';
import type { EventChecker } from '../../src/kafka/decode.js';
import { StopSignal } from '../../src/extract/stop-signal.js';
import { DirectorySnapshotStore } from '../../src/snapshot/directory-store.js';

/** An EventSource driven by a script: partitions are arrays of values, consumed in order, in small batches. */
class ScriptedSource implements EventSource {
  readonly commits: TopicPartitionOffset[][] = [];
  assigned: TopicPartitionOffset[] | undefined;
  readonly paused = new Set<string>();
  consumeCalls = 0;
  private readonly position = new Map<string, number>();
  private readonly eofSent = new Set<string>();
  disconnected = false;
  /** Called before each consume: lets a test append messages (a producer still writing) or request a stop. */
  beforeConsume: (() => void) | undefined;
  /** How long each consume call takes. */
  consumeDelayMs = 0;
  /** Commits that throw (as librdkafka does right after a broker restart), then commits that do not take. */
  commitsFailing = 0;
  commitsLost = 0;

  constructor(
    readonly log: Map<string, Array<string | null>>,
    readonly committedOffsets = new Map<string, number>(),
    readonly batch = 3,
  ) {}

  async connect(): Promise<void> {}
  async topicPartitions(): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    for (const k of this.log.keys()) {
      const [t, p] = k.split('/') as [string, string];
      out.set(t, [...(out.get(t) ?? []), Number(p)]);
    }
    return out;
  }
  async watermarks(ps: readonly TopicPartition[]) {
    return ps.map((p) => ({ ...p, low: 0, high: this.log.get(`${p.topic}/${p.partition}`)!.length }));
  }
  async committed(ps: readonly TopicPartition[]) {
    return ps.map((p) => ({ ...p, offset: this.committedOffsets.get(`${p.topic}/${p.partition}`) ?? null }));
  }
  assign(ps: readonly TopicPartitionOffset[]): void {
    this.assigned = [...ps];
    for (const p of ps) this.position.set(`${p.topic}/${p.partition}`, p.offset);
  }
  pause(ps: readonly TopicPartition[]): void {
    for (const p of ps) this.paused.add(`${p.topic}/${p.partition}`);
  }
  async consume(max: number): Promise<ConsumedBatch> {
    this.consumeCalls += 1;
    this.beforeConsume?.();
    if (this.consumeDelayMs) await new Promise((r) => setTimeout(r, this.consumeDelayMs));
    const messages: RawMessage[] = [];
    const endOfPartition: TopicPartitionOffset[] = [];
    for (const [k, pos] of this.position) {
      if (this.paused.has(k)) continue;
      const [topic, p] = k.split('/') as [string, string];
      const values = this.log.get(k)!;
      let at = pos;
      while (at < values.length && messages.length < Math.min(max, this.batch)) {
        const v = values[at]!;
        messages.push({
          topic,
          partition: Number(p),
          offset: at,
          timestamp: 1_000 + at,
          key: null,
          value: v === null ? null : Buffer.from(v),
        });
        at += 1;
      }
      this.position.set(k, at);
      if (at === values.length && !this.eofSent.has(`${k}@${at}`)) {
        this.eofSent.add(`${k}@${at}`);
        endOfPartition.push({ topic, partition: Number(p), offset: at });
      }
    }
    return { messages, endOfPartition };
  }
  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.commitsFailing > 0) {
      this.commitsFailing--;
      throw new EventfulError('committing the offsets of group "g" failed: Broker: Not coordinator', 1, 'kafka_commit');
    }
    if (this.commitsLost > 0) {
      this.commitsLost--;
      return;
    }
    this.commits.push([...offsets]);
    for (const o of offsets) this.committedOffsets.set(`${o.topic}/${o.partition}`, o.offset);
  }
  async disconnect(): Promise<void> {
    this.disconnected = true;
  }
}

const schemas: ExtractSchemas & EventChecker = {
  hasTopic: (t) => t !== 'schemaless',
  check: (_t, v) =>
    typeof v['id'] === 'string' ? { schema: 'ok' } : { reason: { code: 'schema_violation', message: 'missing id' } },
};
const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const good = (i: number): string => JSON.stringify({ id: `e${i}` });

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function run(
  source: ScriptedSource,
  flags: ExtractFlags = {},
  stop = new StopSignal(),
  deps: Partial<ExtractDeps> = {},
) {
  const out = await mkdtemp(path.join(os.tmpdir(), 'eventful-run-extract-'));
  dirs.push(out);
  const settings = resolveExtractSettings(
    {
      topics: [...new Set([...source.log.keys()].map((k) => k.split('/')[0]))].join(','),
      groupId: 'g',
      out,
      bootstrapServers: 'x:1',
      ...flags,
    },
    {},
  );
  const store = settings.dryRun ? undefined : await DirectorySnapshotStore.open(out);
  const result = await runExtract(settings, {
    source,
    store,
    schemas,
    decoder: new InlineDecoder(schemas, !settings.dryRun),
    log: quiet,
    stop,
    random: () => 'r4nd',
    ...deps,
  });
  return { ...result, summary: result.summary as unknown as ExtractSummary, out, store };
}

describe('the extract core', () => {
  it('should drain every partition to its watermark, publish, then commit last offset + 1', async () => {
    const source = new ScriptedSource(
      new Map([
        ['t/0', [good(0), good(1), good(2), good(3)]],
        ['t/1', [good(4)]],
      ]),
    );
    const r = await run(source);
    expect(r.exitCode).toBe(ExitCode.Ok);
    expect(r.summary).toMatchObject({ status: 'ok', committed: true, stoppedBy: 'watermark', lagLeft: 0 });
    expect(r.summary.counts).toMatchObject({ messages: 5, events: 5, rejected: 0 });
    expect(source.commits).toEqual([
      [
        { topic: 't', partition: 0, offset: 4 },
        { topic: 't', partition: 1, offset: 1 },
      ],
    ]);
    expect((await r.store!.list()).complete.map((s) => s.id)).toEqual([r.summary.snapshot!.id]);
    expect(source.disconnected).toBe(true);
  });

  it('should try a failing commit again with a doubling wait, and succeed within the same run', async () => {
    const source = new ScriptedSource(new Map([['t/0', [good(0), good(1)]]]));
    source.commitsFailing = 2;
    source.commitsLost = 1;
    const waits: number[] = [];
    const warnings: string[] = [];
    const log: Logger = { ...quiet, warn: (m) => warnings.push(m) };
    const r = await run(source, {}, new StopSignal(), { wait: async (ms) => void waits.push(ms), log });
    expect(r.exitCode, JSON.stringify(r.summary)).toBe(ExitCode.Ok);
    expect(r.summary).toMatchObject({ status: 'ok', committed: true });
    expect(source.commits).toEqual([[{ topic: 't', partition: 0, offset: 2 }]]);
    expect(waits).toEqual([500, 1000, 2000]);
    expect(warnings).toEqual([
      expect.stringMatching(/Not coordinator; trying again in 500 ms \(try 2 of 6\)/),
      expect.stringMatching(/Not coordinator; trying again in 1000 ms \(try 3 of 6\)/),
      expect.stringMatching(/the commit of t\[0\] did not take; trying again in 2000 ms \(try 4 of 6\)/),
    ]);
  });

  it(`should give up after ${COMMIT_ATTEMPTS} failed commits with exit 1, the snapshot published and what to do`, async () => {
    const source = new ScriptedSource(new Map([['t/0', [good(0)]]]));
    source.commitsFailing = COMMIT_ATTEMPTS;
    const waits: number[] = [];
    const failure = await run(source, {}, new StopSignal(), { wait: async (ms) => void waits.push(ms) }).catch(
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(EventfulError);
    expect(failure).toMatchObject({ exitCode: ExitCode.Failure, code: 'kafka_commit' });
    expect((failure as Error).message).toMatch(
      /^snapshot \S+ is published, but committing .* failed: .*Not coordinator \(6 tries\): the next run will read those events again .*run extract again$/,
    );
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(source.commits).toEqual([]);
    const store = await DirectorySnapshotStore.open(dirs.at(-1)!);
    expect((await store.list()).complete).toHaveLength(1);
  });

  it('should say to stop the other consumer when the commits failed because one is in the group', async () => {
    const source = new ScriptedSource(new Map([['t/0', [good(0)]]]));
    source.commit = async () => {
      throw new EventfulError(
        'committing ... failed: Broker: Unknown member (code 25) (another consumer ...)',
        1,
        'group_in_use',
      );
    };
    const failure = await run(source, {}, new StopSignal(), { wait: async () => undefined }).catch(
      (err: unknown) => err,
    );
    expect(failure).toMatchObject({ exitCode: ExitCode.Failure, code: 'group_in_use' });
    expect((failure as Error).message).toMatch(
      /\(6 tries\): .* Stop the other consumer of the group, then run extract again$/,
    );
  });

  it('should end with exit 99, assigning nothing and writing nothing, when every partition is at its watermark', async () => {
    const source = new ScriptedSource(new Map([['t/0', [good(0)]]]), new Map([['t/0', 1]]));
    const r = await run(source);
    expect(r.exitCode).toBe(ExitCode.NothingToDo);
    expect(r.summary.status).toBe('nothing_new');
    expect(source.assigned).toBeUndefined();
    expect(source.consumeCalls).toBe(0);
    expect(await readdir(r.out)).toEqual([]);
  });

  it('should stop at the start-time watermark while the producer keeps writing, and never commit beyond it', async () => {
    const values = [good(0), good(1), good(2), good(3)];
    const source = new ScriptedSource(new Map([['t/0', values]]), new Map(), 2);
    let n = 10;
    source.beforeConsume = () => values.push(good(n++));
    const r = await run(source);
    expect(r.summary.partitions[0]).toMatchObject({ highWatermark: 4, firstOffset: 0, lastOffset: 3, commitOffset: 4 });
    expect(source.commits).toEqual([[{ topic: 't', partition: 0, offset: 4 }]]);
  });

  it('should honour --max-messages and leave the rest for the next run', async () => {
    const source = new ScriptedSource(new Map([['t/0', Array.from({ length: 10 }, (_, i) => good(i))]]));
    const r = await run(source, { maxMessages: '4' });
    expect(r.summary).toMatchObject({ stoppedBy: 'max-messages', lagLeft: 6 });
    expect(r.summary.counts.messages).toBe(4);
    expect(source.commits).toEqual([[{ topic: 't', partition: 0, offset: 4 }]]);
  });

  it('should honour --max-duration, publish what it read and commit just that', async () => {
    const source = new ScriptedSource(new Map([['t/0', Array.from({ length: 200 }, (_, i) => good(i))]]), new Map(), 2);
    source.consumeDelayMs = 10;
    const r = await run(source, { maxDuration: '150ms' });
    expect(r.exitCode).toBe(ExitCode.Ok);
    expect(r.summary.stoppedBy).toBe('max-duration');
    const read = r.summary.counts.messages;
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(200);
    expect(source.commits).toEqual([[{ topic: 't', partition: 0, offset: read }]]);
    expect(r.summary.lagLeft).toBe(200 - read);
  });

  it('should give up without committing when the drain makes no progress for --stall-timeout', async () => {
    const source = new ScriptedSource(new Map([['t/0', [good(0), good(1)]]]));
    source.consumeDelayMs = 5;
    // The broker says there are two messages but never delivers them.
    source.consume = async () => {
      await new Promise((r) => setTimeout(r, 5));
      return { messages: [], endOfPartition: [] };
    };
    await expect(run(source, { stallTimeout: '60ms' })).rejects.toThrow(/no progress for/);
    expect(source.commits).toEqual([]);
    expect(source.disconnected).toBe(true);
  });

  it('should fail without committing or publishing when rejects exceed --max-rejected-ratio, tombstones aside', async () => {
    const source = new ScriptedSource(new Map([['t/0', [good(0), '{"x":1}', 'nope', null, null, null]]]));
    const r = await run(source, { maxRejectedRatio: '0.5' });
    expect(r.exitCode).toBe(ExitCode.Failure);
    expect(r.summary.status).toBe('failed');
    expect(r.summary.error?.code).toBe('too_many_rejected');
    expect(r.summary.rejectedRatio).toBeCloseTo(2 / 3);
    expect(r.summary.counts).toMatchObject({
      tombstones: 3,
      rejectedByReason: { schema_violation: 1, not_json: 1, tombstone: 3 },
    });
    expect(r.summary.rejectedSamples?.map((s) => s.offset)).toEqual([1, 2]);
    expect(source.commits).toEqual([]);
    expect(await readdir(r.out)).toEqual([]);
  });

  it('should accept the same rejects under a looser ratio and put them in the snapshot', async () => {
    const source = new ScriptedSource(new Map([['t/0', [good(0), '{"x":1}', 'nope', null]]]));
    const r = await run(source, { maxRejectedRatio: '0.7' });
    expect(r.exitCode).toBe(ExitCode.Ok);
    const [snap] = (await r.store!.list()).complete;
    expect(snap!.manifest.counts).toMatchObject({ events: 1, rejected: 3 });
  });

  it('should write nothing and commit nothing in a dry run, and say what it would have done', async () => {
    const source = new ScriptedSource(new Map([['t/0', [good(0), good(1)]]]));
    const r = await run(source, { dryRun: true });
    expect(r.exitCode).toBe(ExitCode.Ok);
    expect(r.summary).toMatchObject({ dryRun: true, committed: false, snapshot: null });
    expect(r.summary.partitions[0]).toMatchObject({ commitOffset: 2, messages: 2 });
    expect(source.commits).toEqual([]);
    expect(await readdir(r.out)).toEqual([]);
  });

  it('should discard the snapshot and commit nothing when stopped by a signal mid-drain', async () => {
    const source = new ScriptedSource(new Map([['t/0', Array.from({ length: 20 }, (_, i) => good(i))]]), new Map(), 2);
    const stop = new StopSignal();
    source.beforeConsume = () => source.consumeCalls === 3 && stop.request('SIGTERM');
    await expect(run(source, {}, stop)).rejects.toThrow(/stopped by SIGTERM/);
    expect(source.commits).toEqual([]);
    expect(source.disconnected).toBe(true);
    expect(dirs.length).toBe(1);
    expect(await readdir(dirs[0]!)).toEqual([]);
  });

  it('should report a retention gap and read on from the log start', async () => {
    const source = new ScriptedSource(new Map([['t/0', [good(0), good(1)]]]));
    source.watermarks = async (ps) => ps.map((p) => ({ ...p, low: 1, high: 2 }));
    source.committedOffsets.set('t/0', 0);
    const r = await run(source);
    expect(r.summary.retentionGaps).toEqual([{ topic: 't', partition: 0, committed: 0, logStart: 1, lost: 1 }]);
    expect(r.summary.partitions[0]).toMatchObject({ firstOffset: 1, lastOffset: 1 });
  });

  it('should refuse unknown topics, topics without a schema and missing partitions with exit 2', async () => {
    const source = new ScriptedSource(
      new Map([
        ['t/0', [good(0)]],
        ['schemaless/0', [good(0)]],
      ]),
    );
    await expect(run(source, { topics: 'nope' })).rejects.toThrow(/unknown topic "nope"/);
    await expect(run(source, { topics: 'schemaless' })).rejects.toThrow(/no schema applies to topic "schemaless"/);
    await expect(run(source, { topics: undefined, partitions: 't:0-1' })).rejects.toThrow(UsageError);
  });

  it('should start fetching while the schemas compile, and take nothing when they turn out to be broken', async () => {
    const source = new ScriptedSource(new Map([['t/0', [good(0), good(1)]]]));
    let compiled!: (s: ExtractSchemas) => void;
    const compiling = new Promise<ExtractSchemas>((resolve) => (compiled = resolve));
    const running = run(source, {}, new StopSignal(), { schemas: compiling });
    await vi.waitFor(() => expect(source.assigned).toBeDefined());
    compiled(schemas);
    const r = await running;
    expect(r.exitCode).toBe(ExitCode.Ok);
    expect(r.summary.counts.events).toBe(2);

    const broken = new ScriptedSource(new Map([['t/0', [good(0)]]]));
    const problems = Promise.reject(new UsageError('the schemas in /s have problems (run eventful-validate)'));
    problems.catch(() => undefined);
    await expect(run(broken, {}, new StopSignal(), { schemas: problems })).rejects.toThrow(/have problems/);
    expect(broken.commits).toEqual([]);
    expect(await readdir(dirs.at(-1)!)).toEqual([]);
  });

  it('should read only the partitions named by --partitions', async () => {
    const source = new ScriptedSource(
      new Map([
        ['t/0', [good(0)]],
        ['t/1', [good(1)]],
        ['t/2', [good(2)]],
      ]),
    );
    const r = await run(source, { topics: undefined, partitions: 't:1-2' });
    expect(source.assigned?.map((a) => a.partition)).toEqual([1, 2]);
    expect(r.summary.partitions.map((p) => p.partition)).toEqual([1, 2]);
  });
});
