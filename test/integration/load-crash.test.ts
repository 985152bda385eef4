import { spawn } from 'node:child_process';
import path from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { usePgClient } from '../helpers/load-test.js';
import { freshSchema } from '../helpers/pg.js';
import { ROOT, runCommand as run } from '../helpers/run.js';
import {
  arrival,
  dumpSchema,
  incident,
  onPartition,
  tableExists,
  tempDir,
  writeSnapshot,
} from '../helpers/snapshot-fixtures.js';

let client: pg.Client;
usePgClient((c) => (client = c));

// EVENTFUL_TEST_CRASH_AT is a test-only hook: load SIGKILLs itself at that point of a snapshot's transaction.
describe('load: a killed load', () => {
  for (const point of ['before-ledger', 'before-commit'])
    it(`should leave the ledger and tables as before when killed ${point.replace('-', ' ')}, and the next run completes`, async () => {
      const schema = await freshSchema(client, 'crash');
      const root = await tempDir();
      await writeSnapshot(root, [
        ...onPartition('train-arrivals', 0, [arrival(), arrival()]),
        ...onPartition('incidents', 0, [incident()]),
      ]);

      // Killed in the first snapshot, whose transaction also creates the tables: nothing may remain.
      const killed = await run('load', ['--snapshots', root, '--db-schema', schema], {
        env: { EVENTFUL_TEST_CRASH_AT: point },
      });
      expect(killed.signal).toBe('SIGKILL');
      expect(await tableExists(client, schema, 'eventful_load_ledger')).toBe(false);
      expect(await tableExists(client, schema, 'train_arrivals')).toBe(false);

      expect((await run('load', ['--snapshots', root, '--db-schema', schema])).code).toBe(0);
      const loaded = await dumpSchema(schema);

      // Killed in a later snapshot: the tables and the ledger stay exactly as they were.
      await writeSnapshot(root, [
        ...onPartition('train-arrivals', 0, [arrival()], 2),
        ...onPartition('incidents', 0, [incident({ occurred_at: '2026-11-27T09:00:00Z', status: 'resolved' })], 1),
      ]);
      const again = await run('load', ['--snapshots', root, '--db-schema', schema], {
        env: { EVENTFUL_TEST_CRASH_AT: point },
      });
      expect(again.signal).toBe('SIGKILL');
      expect(await dumpSchema(schema)).toBe(loaded);

      const next = await run('load', ['--snapshots', root, '--db-schema', schema]);
      expect(next.code, next.stderr).toBe(0);
      const { rows } = await client.query(
        `SELECT (SELECT count(*) FROM "${schema}".train_arrivals)::int AS trains,
                (SELECT status FROM "${schema}".incidents) AS status,
                (SELECT count(*) FROM "${schema}".eventful_load_ledger)::int AS ledger`,
      );
      expect(rows).toEqual([{ trains: 3, status: 'resolved', ledger: 2 }]);
    });
});

describe('load: SIGTERM (Airflow timeout or manual stop)', () => {
  it('should roll back the snapshot in progress, exit 1 and leave it pending', async () => {
    const schema = await freshSchema(client, 'crash');
    const root = await tempDir();
    await writeSnapshot(
      root,
      onPartition(
        'train-arrivals',
        0,
        Array.from({ length: 60_000 }, () => arrival()),
      ),
    );
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'dist', 'load.js'), '--snapshots', root, '--db-schema', schema, '--batch-size', '500'],
      {
        env: process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/snapshot\(s\) to load/.test(stderr)) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));

    expect(code, stderr).toBe(1);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as {
      results: Array<{ status: string; error?: { code: string } }>;
    };
    expect(summary.results[0]).toMatchObject({ status: 'Error', error: { code: 'interrupted' } });
    expect(await tableExists(client, schema, 'train_arrivals')).toBe(false);
    expect((await run('load', ['--snapshots', root, '--db-schema', schema])).code).toBe(0);
  });
});
