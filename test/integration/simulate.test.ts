import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bootstrap, consumeAllWithKcat, saslListener, uniqueTopic } from '../helpers/kafka.js';
import { ROOT, runCommand } from '../helpers/run.js';

const execFileAsync = promisify(execFile);

/** Partitions of a topic, read with kcat (an independent client). */
async function partitionCount(topic: string): Promise<number> {
  const { stdout } = await execFileAsync('kcat', ['-L', '-b', bootstrap(), '-t', topic, '-J']);
  const meta = JSON.parse(stdout) as { topics: Array<{ topic: string; partitions: unknown[] }> };
  return meta.topics.find((t) => t.topic === topic)!.partitions.length;
}

/** Messages of a topic as `key value` lines, read with kcat. */
async function keyedMessages(topic: string): Promise<Array<{ key: string; value: Record<string, unknown> }>> {
  const { stdout } = await execFileAsync(
    'kcat',
    ['-C', '-b', bootstrap(), '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%s\n'],
    { maxBuffer: 1 << 28 },
  );
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const tab = l.indexOf('\t');
      return { key: l.slice(0, tab), value: JSON.parse(l.slice(tab + 1)) as Record<string, unknown> };
    });
}

describe('simulate against the real broker', () => {
  const window = ['--seed', 'it', '--start', '2026-11-26T07:00:00Z', '--duration', '2h', '--incidents-per-day', '48'];

  it('should exit 2 when librdkafka refuses a --kafka property, for the producer and for creating topics', async () => {
    for (const extra of [[], ['--create-topics']]) {
      const r = await runCommand('simulate', [...window, '--kafka', 'security.protocol=plaintxt', ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/the Kafka client refused its configuration: .*security\.protocol.* \(check --kafka/);
    }
  });

  it('should create six-partition topics and deliver exactly the events its dry run prints, keyed by train and incident', async () => {
    const arrivals = uniqueTopic('sim-arrivals');
    const incidents = uniqueTopic('sim-incidents');
    const topics = ['--arrivals-topic', arrivals, '--incidents-topic', incidents];
    const r = await runCommand('simulate', [...window, ...topics, '--create-topics']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({
      status: 'ok',
      failed: 0,
      topics_created: { [arrivals]: 'created', [incidents]: 'created' },
    });
    expect(await partitionCount(arrivals)).toBe(6);
    expect(await partitionCount(incidents)).toBe(6);

    const dry = await runCommand('simulate', [...window, ...topics, '--dry-run']);
    expect(dry.code).toBe(0);
    const printed = dry.stdout
      .trimEnd()
      .split('\n')
      .slice(0, -1)
      .map((l) => JSON.parse(l) as { topic: string; key: string; value: Record<string, unknown> });
    expect(r.summary!['events']).toBe(printed.length);

    for (const topic of [arrivals, incidents]) {
      const expected = printed.filter((p) => p.topic === topic).map((p) => JSON.stringify(p.value));
      expect(expected.length).toBeGreaterThan(0);
      expect((await consumeAllWithKcat(topic)).sort()).toEqual(expected.sort());
    }
    for (const m of await keyedMessages(arrivals)) expect(m.key).toBe(m.value['train_id']);
    for (const m of await keyedMessages(incidents)) expect(m.key).toBe(m.value['incident_id']);
  });

  it('should leave existing topics alone and pace itself with --rate', async () => {
    const arrivals = uniqueTopic('sim-arrivals');
    const incidents = uniqueTopic('sim-incidents');
    const args = ['--seed', 'rate', '--start', '2026-11-26T03:00:00Z', '--duration', '30m', '--incidents-per-day', '0'];
    const topics = ['--arrivals-topic', arrivals, '--incidents-topic', incidents, '--create-topics'];
    expect((await runCommand('simulate', [...args, ...topics])).code).toBe(0);
    const began = Date.now();
    const paced = await runCommand('simulate', [...args, ...topics, '--rate', '100']);
    expect(paced.code, paced.stderr).toBe(0);
    expect(paced.summary).toMatchObject({ topics_created: { [arrivals]: 'exists', [incidents]: 'exists' } });
    const events = paced.summary!['events'] as number;
    expect(events).toBeGreaterThan(100);
    expect(Date.now() - began).toBeGreaterThanOrEqual(((events - 1) / 100) * 1000);
    expect(await consumeAllWithKcat(arrivals)).toHaveLength(2 * events);
  });

  it('should stop quietly, exit 0, when the reader of its dry run closes the pipe early (as `| head` does)', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'simulate.js'), '--dry-run', ...window], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let lines = 0;
    child.stdout.on('data', (d: Buffer) => {
      lines += d.toString().split('\n').length - 1;
      child.stdout.destroy(); // the reader goes away after its first chunk
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(lines).toBeGreaterThan(0);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('stdout was closed by its reader: stopping');
    expect(stderr).not.toMatch(/EPIPE|    at /);
  });

  it('should refuse bad flags with exit 2 and a message naming the flag', async () => {
    const bad = await runCommand('simulate', ['--duration', 'soon', '--dry-run']);
    expect(bad.code).toBe(2);
    expect(bad.summary).toMatchObject({ status: 'failed', error: { code: 'usage' } });
    expect(bad.stderr).toContain('--duration');
    expect((await runCommand('simulate', ['--kafka', 'sasl.password=hunter2'])).code).toBe(2);
  });

  it('should exit 2 at once when a topic does not exist and --create-topics is not given', async () => {
    const missing = uniqueTopic('sim-missing');
    const topics = ['--arrivals-topic', missing, '--incidents-topic', uniqueTopic('sim-missing-too')];
    const r = await runCommand('simulate', [...window, ...topics]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`topic "${missing}" does not exist on \\S+: create it, or pass --create-topics`),
    );
    expect(r.summary).toMatchObject({ status: 'failed', error: { code: 'usage' } });
  });

  it('should fail with exit 1 and a clear message when the broker cannot be reached', async () => {
    const r = await runCommand('simulate', ['--bootstrap-servers', '127.0.0.1:1', '--duration', '1h'], {
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach the Kafka broker at 127.0.0.1:1 within 30000 ms');
  }, 60_000);

  it('should exit 2 when the broker refuses the SASL credentials, as extract and lag do (it said "unreachable")', async () => {
    const password = 'not-the-sasl-password-5e1d';
    const sasl = saslListener(password);
    const r = await runCommand('simulate', ['--bootstrap-servers', sasl.bootstrap, '--duration', '1h'], {
      env: sasl.env,
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the Kafka broker at \S+ refused the SASL credentials/);
    expect(r.stderr + r.stdout).not.toContain(password);
  }, 60_000);
});
