import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bootstrap } from '../helpers/kafka.js';
import { ROOT, runCommand, type RunResult } from '../helpers/run.js';
import { DirectorySnapshotStore } from '../../src/snapshot/directory-store.js';
import type { EventLine, Manifest, RejectedLine } from '../../src/snapshot/format.js';

// Debian's python3-confluent-kafka lives in the system Python; a pyenv shim first on PATH would hide it from
// the helpers that run `python3` (committedOffsets, produceWithPython).
process.env['PYENV_VERSION'] ??= 'system';

/** A valid train-arrival event (see schemas/train_arrival.schema.json). */
export function arrival(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: randomUUID(),
    event_type: 'train_arrival',
    occurred_at: new Date(Date.UTC(2026, 10, 27, 6, 0, i % 3600)).toISOString(),
    train_id: `BL-${1000 + (i % 50)}`,
    line: 'Blue',
    direction: i % 2 ? 'northbound' : 'southbound',
    station_id: `STN-${String(i % 40).padStart(3, '0')}`,
    ...extra,
  };
}

/**
 * Produces raw values with python3-confluent-kafka, which (unlike the JS producer, which sends an empty buffer as
 * null) can send an empty value. `null` is a tombstone.
 */
export async function produceRawWithPython(topic: string, values: Array<Buffer | null>): Promise<void> {
  const script = `
import sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1]})
for line in sys.stdin:
    line = line.strip()
    p.produce(sys.argv[2], None if line == '-' else bytes.fromhex(line))
p.flush(30)
`;
  const child = execFile('python3', ['-c', script, bootstrap(), topic]);
  child.stdin!.end(values.map((v) => (v === null ? '-' : v.toString('hex'))).join('\n') + '\n');
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`python producer exited ${code}`)))),
  );
}

/** A temp folder of its own for a test. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `eventful-${prefix}-`));
}

/** A schemas folder whose train-arrival schema applies to `topics` (so tests can use topics of their own). */
export async function schemasFor(topics: string[]): Promise<string> {
  const dir = await tempDir('schemas');
  const schema = JSON.parse(await readFile(path.join(ROOT, 'schemas/train_arrival.schema.json'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  schema['x-warehouse']!['topics'] = topics;
  await writeFile(path.join(dir, 'train_arrival.schema.json'), JSON.stringify(schema, null, 2));
  return dir;
}

/** Runs `dist/extract.js` against the test broker (unless the flags name another) with the given flags. */
export function extract(
  args: string[],
  options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<RunResult> {
  const broker = args.includes('--bootstrap-servers') ? [] : ['--bootstrap-servers', bootstrap()];
  return runCommand('extract', [...broker, ...args], options);
}

/** Starts `dist/extract.js` and hands back the child, to signal it while it runs. */
export function startExtract(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<RunResult> } {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'dist', 'extract.js'), '--bootstrap-servers', bootstrap(), ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<RunResult>((resolve) =>
    child.on('close', (code, signal) => {
      let summary: Record<string, unknown> | undefined;
      try {
        summary = JSON.parse(stdout.trimEnd().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        summary = undefined;
      }
      resolve({ code, signal, stdout, stderr, summary });
    }),
  );
  return { child, done };
}

/** The complete snapshots under a root, oldest first. */
export async function snapshots(root: string): Promise<Manifest[]> {
  const store = await DirectorySnapshotStore.open(root);
  return (await store.list()).complete.map((s) => s.manifest);
}

async function lines<T>(root: string, id: string, file: string): Promise<T[]> {
  const text = await readFile(path.join(root, id, file), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

export const eventLines = (root: string, id: string): Promise<EventLine[]> => lines(root, id, 'events.ndjson');
export const rejectedLines = (root: string, id: string): Promise<RejectedLine[]> => lines(root, id, 'rejected.ndjson');

/** `run.summary` typed loosely for assertions. */
export function summaryOf(run: RunResult): Record<string, any> {
  if (!run.summary)
    throw new Error(`no JSON summary; exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  return run.summary as Record<string, any>;
}

/** Waits until a process is stopped (state T in /proc), as the test-only stop hook leaves it. */
export async function waitUntilStopped(pid: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (/^\d+ \(.*\) T /.test(stat)) return;
    if (Date.now() > deadline) throw new Error(`process ${pid} never stopped (stat: ${stat.slice(0, 80)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
