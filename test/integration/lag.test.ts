import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import Kafka from '@confluentinc/kafka-javascript';
import { beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, createTopic, produce, uniqueTopic } from '../helpers/kafka.js';
import { runCommand, type RunResult } from '../helpers/run.js';
// Importing the fixtures also points `python3` at the system Python, where Debian's python3-confluent-kafka lives.
import { arrival, schemasFor, summaryOf, tempDir } from './extract-fixtures.js';

const execFileAsync = promisify(execFile);

/**
 * What python3-confluent-kafka (an independent client) sees: per partition the watermarks (asked of the broker,
 * not cached) and the group's committed offset; the group's state and members; retention.ms of the topic.
 */
const PYTHON_VIEW = `
import json, sys
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource
bootstrap, group, topic, partitions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'enable.auto.commit': False})
tps = [TopicPartition(topic, p) for p in range(partitions)]
committed = c.committed(tps, timeout=20)
marks = [c.get_watermark_offsets(tp, timeout=20, cached=False) for tp in tps]
c.close()
admin = AdminClient({'bootstrap.servers': bootstrap})
groups = admin.list_groups(group=group, timeout=20)
config = admin.describe_configs([ConfigResource('topic', topic)])
entries = list(config.values())[0].result(timeout=20)
print(json.dumps({
  'partitions': [
    {'partition': tp.partition, 'committed': tp.offset, 'low': m[0], 'high': m[1]} for tp, m in zip(committed, marks)
  ],
  'group': [{'state': g.state, 'members': len(g.members)} for g in groups],
  'retentionMs': int(entries['retention.ms'].value),
}))
`;

interface PythonView {
  partitions: Array<{ partition: number; committed: number; low: number; high: number }>;
  group: Array<{ state: string; members: number }>;
  retentionMs: number;
}

async function pythonView(group: string, topic: string, partitions: number): Promise<PythonView> {
  const { stdout } = await execFileAsync(
    'python3',
    ['-c', PYTHON_VIEW, bootstrap(), group, topic, String(partitions)],
    {
      timeout: 60_000,
    },
  );
  return JSON.parse(stdout) as PythonView;
}

/** The lag figures the python client's numbers imply: from the committed offset (or the log start) to the high watermark. */
function expectedFigures(view: PythonView) {
  return view.partitions.map(({ partition, committed, low, high }) => {
    const c = committed >= 0 ? committed : null;
    const start = c === null || c > high || c < low ? low : c;
    return {
      partition,
      committed: c,
      logStart: low,
      highWatermark: high,
      lag: high - start,
      lost: c !== null && c < low ? low - c : 0,
    };
  });
}

function lag(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return runCommand('lag', ['--bootstrap-servers', bootstrap(), ...args], { timeoutMs });
}

interface TopicSummary {
  topic: string;
  lag: number;
  lost: number;
  retentionMs: number | null;
  retentionRisk: string;
  oldestPendingTimestamp: number | null;
  oldestPendingAgeMs: number | null;
  partitions: Array<Record<string, unknown>>;
}

function topicOf(run: RunResult, topic: string): TopicSummary {
  const s = summaryOf(run);
  const t = (s['topics'] as TopicSummary[]).find((x) => x.topic === topic);
  if (!t) throw new Error(`no ${topic} in ${run.stdout}`);
  return t;
}

function figures(t: TopicSummary) {
  return t.partitions.map(({ partition, committed, logStart, highWatermark, lag, lost }) => ({
    partition,
    committed,
    logStart,
    highWatermark,
    lag,
    lost,
  }));
}

/** Produces `n` valid train-arrival events spread over the partitions with a given Kafka timestamp, with python. */
async function produceAt(topic: string, values: unknown[], timestampMs: number): Promise<void> {
  const script = `
import sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1]})
for i, line in enumerate(sys.stdin):
    p.produce(sys.argv[2], line.rstrip('\\n').encode(), partition=i % int(sys.argv[4]), timestamp=int(sys.argv[3]))
p.flush(30)
`;
  const child = execFile('python3', ['-c', script, bootstrap(), topic, String(timestampMs), '6']);
  child.stdin!.end(values.map((v) => JSON.stringify(v)).join('\n') + '\n');
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`python producer exited ${code}`)))),
  );
}

describe('lag on the real broker', () => {
  const topic = uniqueTopic('lag');
  const group = `lag-group-${topic}`;
  let schemas: string;

  beforeAll(async () => {
    await createTopic(topic, 6);
    schemas = await schemasFor([topic]);
  });

  it('should report nothing pending on an empty topic, as python sees it', async () => {
    const run = await lag(['--topics', topic, '--group-id', group]);
    expect(run.code, run.stderr).toBe(0);
    const t = topicOf(run, topic);
    expect(figures(t)).toEqual(expectedFigures(await pythonView(group, topic, 6)));
    expect(t).toMatchObject({ lag: 0, lost: 0, oldestPendingTimestamp: null, retentionRisk: 'ok' });
    expect(run.stderr).toMatch(/topic\s+partition\s+committed\s+log start\s+high\s+lag/);
  });

  it('should count every produced event as pending for a group that never committed, with its oldest timestamp', async () => {
    const at = Date.now() - 10 * 60_000;
    await produceAt(
      topic,
      Array.from({ length: 120 }, (_, i) => arrival(i)),
      at,
    );
    const run = await lag(['--topics', topic, '--group-id', group]);
    expect(run.code, run.stderr).toBe(0);
    const t = topicOf(run, topic);
    const view = await pythonView(group, topic, 6);
    expect(figures(t)).toEqual(expectedFigures(view));
    expect(t.lag).toBe(120);
    expect(t.oldestPendingTimestamp).toBe(at);
    expect(t.oldestPendingAgeMs).toBeGreaterThanOrEqual(10 * 60_000);
    expect(t.retentionMs).toBe(view.retentionMs);
    expect(summaryOf(run)).toMatchObject({ command: 'lag', status: 'ok', groupId: group, lag: 120 });
  });

  it('should follow an extract run: nothing pending after it, then exactly what was produced since', async () => {
    const out = await tempDir('lag-snapshots');
    const first = await runCommand('extract', [
      '--topics',
      topic,
      '--group-id',
      group,
      '--out',
      out,
      '--schemas',
      schemas,
      '--bootstrap-servers',
      bootstrap(),
    ]);
    expect(first.code, first.stderr).toBe(0);
    let run = await lag(['--topics', topic, '--group-id', group]);
    let t = topicOf(run, topic);
    expect(figures(t)).toEqual(expectedFigures(await pythonView(group, topic, 6)));
    expect(t.lag).toBe(0);
    expect(t.partitions.every((p) => p['committed'] === p['highWatermark'])).toBe(true);

    await produce(
      topic,
      Array.from({ length: 30 }, (_, i) => ({ value: JSON.stringify(arrival(1000 + i)), partition: i % 3 })),
    );
    run = await lag(['--topics', topic, '--group-id', group]);
    t = topicOf(run, topic);
    expect(figures(t)).toEqual(expectedFigures(await pythonView(group, topic, 6)));
    expect(t.lag).toBe(30);
    expect(t.partitions.map((p) => p['lag'])).toEqual([10, 10, 10, 0, 0, 0]);
  });

  it('should exit 99 below --min-lag / --max-age and 0 once one is crossed', async () => {
    let run = await lag(['--topics', topic, '--group-id', group, '--min-lag', '31', '--max-age', '1h']);
    expect(run.code, run.stderr).toBe(99);
    expect(summaryOf(run)).toMatchObject({ status: 'below_thresholds', lag: 30, minLag: 31, maxAgeMs: 3_600_000 });
    run = await lag(['--topics', topic, '--group-id', group, '--min-lag', '30']);
    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run)).toMatchObject({ status: 'crossed', reasons: ['30 pending events >= --min-lag 30'] });
    await new Promise((r) => setTimeout(r, 1_100));
    run = await lag(['--topics', topic, '--group-id', group, '--min-lag', '1000', '--max-age', '1s']);
    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run)['reasons'][0]).toMatch(/oldest pending event is .* old > --max-age 1.0s/);
  });

  it("should leave the group's committed offsets and membership untouched, however often it runs", async () => {
    const before = await pythonView(group, topic, 6);
    expect(before.group).toEqual([{ state: 'Empty', members: 0 }]);
    // Watch the group from python while lag runs again and again: it must never get a member.
    const polls: Array<{ state: string; members: number }> = [];
    const poller = spawn(
      'python3',
      [
        '-c',
        `
import json, sys, time
from confluent_kafka.admin import AdminClient
a = AdminClient({'bootstrap.servers': sys.argv[1]})
while True:
    for g in a.list_groups(group=sys.argv[2], timeout=10):
        print(json.dumps({'state': g.state, 'members': len(g.members)}), flush=True)
    time.sleep(0.02)
`,
        bootstrap(),
        group,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let buffered = '';
    poller.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const l of lines) if (l) polls.push(JSON.parse(l) as { state: string; members: number });
    });
    try {
      for (let i = 0; i < 8; i++) {
        const run = await lag(['--topics', topic, '--group-id', group, ...(i % 2 ? ['--min-lag', '1'] : [])]);
        expect(run.code, run.stderr).toBe(0);
      }
    } finally {
      poller.kill('SIGTERM');
    }
    expect(polls.length).toBeGreaterThan(5);
    expect(polls.filter((p) => p.members > 0 || p.state !== 'Empty')).toEqual([]);
    const after = await pythonView(group, topic, 6);
    expect(after.partitions).toEqual(before.partitions);
    expect(after.group).toEqual([{ state: 'Empty', members: 0 }]);
    // The probe's own throwaway consumer never registers a group either (it never joins or commits).
    const { stdout } = await execFileAsync('python3', [
      '-c',
      `
import sys
from confluent_kafka.admin import AdminClient
print('\\n'.join(g.id for g in AdminClient({'bootstrap.servers': sys.argv[1]}).list_groups(timeout=20)))
`,
      bootstrap(),
    ]);
    expect(stdout.split('\n').filter((id) => id.startsWith('eventful-lag-'))).toEqual([]);
  });
});

describe('retention risk on the real broker', () => {
  it('should report events deleted past the committed offset as lost, and read on from the log start', async () => {
    const topic = uniqueTopic('lag-lost');
    const group = `lag-group-${topic}`;
    await createTopic(topic, 6);
    await produce(
      topic,
      Array.from({ length: 60 }, (_, i) => ({ value: JSON.stringify(arrival(i)), partition: i % 2 })),
    );
    // The group read 5 events of partitions 0 and 1 (committed with python, another client).
    await execFileAsync('python3', [
      '-c',
      `
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': sys.argv[2], 'enable.auto.commit': False})
c.commit(offsets=[TopicPartition(sys.argv[3], 0, 5), TopicPartition(sys.argv[3], 1, 5)], asynchronous=False)
c.close()
`,
      bootstrap(),
      group,
      topic,
    ]);
    // Then the log start of partition 0 moved to 20 (as retention would move it): 15 events expired unread.
    const admin = Kafka.AdminClient.create({ 'bootstrap.servers': bootstrap() });
    try {
      await new Promise<void>((resolve, reject) =>
        admin.deleteRecords([{ topic, partition: 0, offset: 20 }], { timeout: 20_000 }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    } finally {
      admin.disconnect();
    }
    const run = await lag(['--topics', topic, '--group-id', group, '--min-lag', '1000']);
    // Below --min-lag, but events are being lost: a run is worth starting now.
    expect(run.code, run.stderr).toBe(0);
    const t = topicOf(run, topic);
    expect(figures(t)).toEqual(expectedFigures(await pythonView(group, topic, 6)));
    expect(t).toMatchObject({ lost: 15, lag: 10 + 25, retentionRisk: 'lost' });
    expect(t.partitions[0]).toMatchObject({ committed: 5, logStart: 20, highWatermark: 30, lag: 10, lost: 15 });
    expect(summaryOf(run)).toMatchObject({ status: 'crossed', lost: 15 });
    expect(summaryOf(run)['reasons']).toContain(`${topic}: 15 events already lost to retention`);
    expect(run.stderr).toContain(`${topic}[0]: 15 events were deleted by retention before a snapshot read them`);
  });

  it("should put pending events at risk past --retention-warn × the topic's retention.ms", async () => {
    const topic = uniqueTopic('lag-risk');
    const group = `lag-group-${topic}`;
    const hour = 3_600_000;
    await createTopic(topic, 6, { 'retention.ms': String(2 * hour) });
    await produceAt(topic, [arrival(1), arrival(2)], Date.now() - 45 * 60_000);
    let run = await lag(['--topics', topic, '--group-id', group, '--min-lag', '1000']);
    expect(run.code, run.stderr).toBe(99);
    expect(topicOf(run, topic)).toMatchObject({ retentionMs: 2 * hour, retentionRisk: 'ok' });
    expect((await pythonView(group, topic, 6)).retentionMs).toBe(2 * hour);
    run = await lag(['--topics', topic, '--group-id', group, '--min-lag', '1000', '--retention-warn', '0.25']);
    expect(run.code, run.stderr).toBe(0);
    expect(topicOf(run, topic)).toMatchObject({ retentionRisk: 'at_risk' });
    expect(run.stderr).toMatch(/more than 0\.25 × retention\.ms \(2h00m\)/);
  });
});

describe('lag with bad settings', () => {
  it('should exit 2 at once for an unknown topic', async () => {
    const started = Date.now();
    const run = await lag(['--topics', 'no-such-topic-for-lag', '--group-id', 'g']);
    expect(run.code).toBe(2);
    expect(summaryOf(run)['error']).toMatchObject({ code: 'usage' });
    expect(run.stderr).toContain('unknown topic "no-such-topic-for-lag"');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('should exit 1 within the connect timeout when the broker is unreachable', async () => {
    const started = Date.now();
    const run = await runCommand(
      'lag',
      ['--topics', 't', '--group-id', 'g', '--bootstrap-servers', '127.0.0.1:1', '--connect-timeout', '2s'],
      { timeoutMs: 30_000 },
    );
    expect(run.code).toBe(1);
    expect(summaryOf(run)['error']).toMatchObject({ code: 'broker_unreachable' });
    expect(run.stderr).toMatch(/cannot reach the Kafka broker at 127\.0\.0\.1:1 within 2000 ms/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('should exit 2 for negative or malformed thresholds, before touching the broker', async () => {
    for (const args of [
      ['--min-lag=-5'],
      ['--max-age', '-1h'],
      ['--max-age', 'soon'],
      ['--retention-warn', '2'],
      ['--no-such-flag'],
    ]) {
      const run = await runCommand('lag', [
        '--topics',
        't',
        '--group-id',
        'g',
        '--bootstrap-servers',
        '127.0.0.1:1',
        ...args,
      ]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(summaryOf(run)['error']).toMatchObject({ code: 'usage' });
    }
  });

  it('should exit 2 without a group or a broker, and refuse secrets on the command line', async () => {
    let run = await runCommand('lag', ['--topics', 't', '--bootstrap-servers', 'k:1'], {
      env: { EVENTFUL_GROUP_ID: '', EVENTFUL_KAFKA_CONFIG: '' },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--group-id is required');
    run = await runCommand('lag', ['--topics', 't', '--group-id', 'g'], { env: { KAFKA_BOOTSTRAP_SERVERS: '' } });
    expect(run.code).toBe(2);
    run = await lag(['--topics', 't', '--group-id', 'g', '--kafka', 'sasl.password=hunter2']);
    expect(run.code).toBe(2);
    expect(run.stderr + run.stdout).not.toContain('hunter2');
  });

  it("should exit 2 when librdkafka refuses a --kafka property, as extract does (it was exit 1, librdkafka's words alone)", async () => {
    const run = await lag(['--topics', 't', '--group-id', 'g', '--kafka', 'fetch.max.byte=5']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /the Kafka client refused its configuration: No such configuration property: "fetch\.max\.byte" \(check --kafka/,
    );
  });
});
