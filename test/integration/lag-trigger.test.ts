import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { beforeAll, describe, expect, it } from 'vitest';
import { airflowBin, airflowEnv } from '../helpers/airflow.js';
import { bootstrap, createTopic, produce, uniqueTopic } from '../helpers/kafka.js';
import { ROOT } from '../helpers/run.js';

type Phase = Record<string, any> & { phase: string };

/**
 * `KafkaLagTrigger.run()` (eventful_airflow.triggers, installed into the venv from airflow/) driven by test/airflow/trigger_run.py with the real Airflow
 * venv's Python, against the real broker: quiet before events are produced, one event after, none again while the
 * backlog stays, and never a blocked event loop.
 */
describe('the lag trigger on the real broker', () => {
  const topic = uniqueTopic('trigger');
  const group = `trigger-group-${topic}`;
  const minLag = 25;
  const phases: Phase[] = [];
  /** stderr and the trigger's log lines. */
  let stderr = '';

  beforeAll(async () => {
    await createTopic(topic, 6);
    const bin = await airflowBin();
    const env = await airflowEnv({
      // The trigger reads the broker from the Kafka connection at run time, not from the process environment.
      AIRFLOW_CONN_EVENTFUL_KAFKA: JSON.stringify({ conn_type: 'kafka', extra: { 'bootstrap.servers': bootstrap() } }),
      KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1',
    });
    const child = spawn(
      path.join(bin, 'python'),
      [path.join(ROOT, 'test/airflow/trigger_run.py'), ROOT, topic, group, String(minLag), process.execPath],
      { env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    try {
      for await (const line of createInterface({ input: child.stdout })) {
        // Airflow's logging (structlog) writes the trigger's log lines to stdout too.
        if (!line.startsWith('{')) {
          stderr += line + '\n';
          continue;
        }
        const phase = JSON.parse(line) as Phase;
        phases.push(phase);
        if (phase.phase === 'quiet') {
          // Below the threshold first (it must not fire), then over it.
          await produce(
            topic,
            Array.from({ length: minLag - 5 }, (_, i) => ({ value: `{"n":${i}}`, partition: i % 6 })),
          );
          await new Promise((r) => setTimeout(r, 1_500));
          await produce(
            topic,
            Array.from({ length: 5 }, (_, i) => ({ value: `{"n":${100 + i}}`, partition: i % 6 })),
          );
          child.stdin.write('produced\n');
        }
      }
    } finally {
      clearTimeout(timer);
    }
    expect(await exited, stderr.slice(-4000)).toBe(0);
  }, 300_000);

  const phase = (name: string): Phase => {
    const p = phases.find((x) => x.phase === name);
    if (!p) throw new Error(`no phase ${name}; got ${JSON.stringify(phases)}\n${stderr.slice(-4000)}`);
    return p;
  };

  it('should be an Airflow 3 event trigger that the triggerer can rebuild from its classpath', () => {
    expect(phase('quiet')).toMatchObject({ eventDriven: true, classpath: 'eventful_airflow.triggers.KafkaLagTrigger' });
    expect(phase('quiet')['command']).toEqual([
      process.execPath,
      path.join(ROOT, 'dist/lag.js'),
      '--topics',
      topic,
      '--group-id',
      group,
      '--min-lag',
      String(minLag),
    ]);
  });

  it('should not fire while nothing is pending', () => {
    const quiet = phase('quiet');
    expect(quiet['events']).toBe(0);
    expect(quiet['codes'].length).toBeGreaterThanOrEqual(4);
    expect(new Set(quiet['codes'])).toEqual(new Set([99]));
  });

  it('should fire once the lag reaches the threshold, with the lag summary as payload', () => {
    const fired = phase('fired');
    expect(fired['payload']).toMatchObject({ status: 'crossed', groupId: group, lag: minLag, lost: 0 });
    expect(fired['payload']['reasons']).toEqual([`${minLag} pending events >= --min-lag ${minLag}`]);
    expect(fired['payload']['topics']).toEqual([expect.objectContaining({ topic, lag: minLag })]);
  });

  it('should not fire again while the backlog it reported is still waiting for the snapshot', () => {
    const held = phase('held');
    expect(held['events']).toBe(1);
    expect(new Set(held['codes'])).toEqual(new Set([0]));
  });

  it('should keep polling, without firing or raising, when its settings are refused', () => {
    expect(phase('bad_topic')).toMatchObject({ events: 0, running: true });
    expect(new Set(phase('bad_topic')['codes'])).toEqual(new Set([2]));
    expect(stderr).toContain('lag refused its settings (exit 2)');
  });

  it("should never block the triggerer's event loop", () => {
    const done = phase('done');
    expect(done['ticks']).toBeGreaterThan(100);
    // A blocking check would stall the loop for the whole lag run (hundreds of ms at least).
    expect(done['maxLoopGapMs']).toBeLessThan(100);
  });
});
