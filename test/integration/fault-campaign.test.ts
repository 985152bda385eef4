import { spawn } from 'node:child_process';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, freshSchema } from '../helpers/pg.js';
import { ROOT, runCommand } from '../helpers/run.js';
import { arrival, onPartition, tempDir, writeSnapshot } from '../helpers/snapshot-fixtures.js';

/** The kinds test/campaign/fault-campaign.mjs injects for each store (its FAULT_KINDS_BY_STORE). */
const COMMON_KINDS = [
  'extract-crash-hook',
  'extract-sigkill',
  'load-crash-hook',
  'load-sigkill',
  'kafka-restart',
  'kafka-commit-restart',
  'kafka-commit-refused',
  'postgres-restart',
];
const KINDS = {
  dir: [...COMMON_KINDS, 'disk-full', 'snapshot-tamper'],
  s3: [...COMMON_KINDS, 's3-restart', 'snapshot-tamper'],
} as const;

interface CampaignReport {
  ok: boolean;
  store: string;
  location: string;
  kinds: string[];
  seed: string;
  faultsInjected: number;
  faultsLanded: number;
  byKind: Record<string, { injected: number; landed: number }>;
  skippedKinds: string[];
  violations: string[];
  produced: number;
  loaded: number;
  lost: number;
  duplicated: number;
  extra: number;
  incidentStates: { incidents: number; mismatches: number };
  snapshots: { gaps: number; unexplainedOverlaps: number; inLedger: number };
  /** (s3) The extract killed while its multipart upload was in flight. */
  killedUpload?: { landed: boolean; uploadsLeft: number };
  prune: {
    leftovers: number;
    uploads: number;
    listed: number | null;
    removed: number | null;
    snapshotsKept: number;
    damaged: number;
  };
}

function runCampaign(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'test/campaign/fault-campaign.mjs'), ...args], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // The campaign restores the services on SIGTERM; give it time before the test's own timeout.
  const timer = setTimeout(() => child.kill('SIGTERM'), 330_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

// The campaign stops and restarts the shared Kafka broker, PostgreSQL and s3proxy: vitest runs integration files
// one after another (fileParallelism: false), so no other test sees it. The seed makes the same choices every run;
// the moments the faults land still depend on timing, so a fault that misses is tried again (up to 3 times).
describe.each(['dir', 's3'] as const)('fault campaign, short form (fault-campaign.mjs --short --store %s)', (store) => {
  it('should lose and duplicate nothing, and keep incident states right, through every kind of fault', async () => {
    const seed = process.env['EVENTFUL_CAMPAIGN_SEED'] ?? 'ci-short';
    const r = await runCampaign(['--short', '--store', store, '--seed', seed]);
    const last = r.stdout.trimEnd().split('\n').pop() ?? '';
    let report: CampaignReport;
    try {
      report = JSON.parse(last) as CampaignReport;
    } catch {
      throw new Error(`the campaign printed no report (exit ${r.code}):\n${r.stderr}`);
    }
    const context = `campaign stderr:\n${r.stderr}`;
    expect(report.violations, context).toEqual([]);
    expect(r.code, context).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.store).toBe(store);
    expect(report.location.startsWith(store === 's3' ? 's3://' : '/')).toBe(true);
    expect(report.kinds).toEqual(KINDS[store]);
    expect(report.lost).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.extra).toBe(0);
    expect(report.loaded).toBe(report.produced);
    expect(report.produced).toBeGreaterThan(10_000);
    expect(report.incidentStates.mismatches).toBe(0);
    expect(report.incidentStates.incidents).toBeGreaterThan(100);
    expect(report.snapshots).toMatchObject({ gaps: 0, unexplainedOverlaps: 0 });
    expect(report.faultsLanded).toBeGreaterThanOrEqual(8);
    // Only a machine where the campaign cannot mount a tmpfs (not root) may skip the disk-full kind.
    const kinds: readonly string[] = KINDS[store];
    const mustLand = process.getuid?.() === 0 ? kinds : kinds.filter((k) => !report.skippedKinds.includes(k));
    for (const kind of mustLand) {
      expect(report.byKind[kind]?.injected ?? 0, `${kind} never injected\n${context}`).toBeGreaterThan(0);
      expect(report.byKind[kind]?.landed ?? 0, `${kind} never landed\n${context}`).toBeGreaterThan(0);
    }
    // prune listed and removed exactly what killed attempts left, and no complete snapshot lost a byte.
    expect(report.prune.listed).toBe(report.prune.leftovers);
    expect(report.prune.removed).toBe(report.prune.leftovers);
    expect(report.prune.damaged).toBe(0);
    expect(report.prune.snapshotsKept).toBe(report.snapshots.inLedger);
    if (store === 's3') {
      expect(report.killedUpload?.landed, context).toBe(true);
      expect(report.prune.uploads).toBeGreaterThan(0);
    }
  }, 360_000);
});

// Found by the campaign (Postgres restarted mid-load): the server ending the session made pg's Client emit an
// 'error' event nobody listened to, and load died with a bare stack trace and no JSON summary.
describe('load whose database session the server ends mid-snapshot', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(async () => {
    await client.end();
  });

  it('should exit 1 with a clear error and a JSON summary, write nothing, and load it all on the next run', async () => {
    const schema = await freshSchema(client, 'lost');
    const root = await tempDir();
    const events = Array.from({ length: 60_000 }, () => arrival());
    await writeSnapshot(root, onPartition('train-arrivals', 0, events));
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'dist', 'load.js'), '--snapshots', root, '--db-schema', schema, '--batch-size', '500'],
      { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const listed = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/snapshot\(s\) to load/.test(stderr)) resolve();
      }),
    );
    const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    await listed;
    // End the load's own session (its queries name the test's schema), as a Postgres restart would.
    let terminated = 0;
    for (let i = 0; i < 100 && terminated === 0; i++) {
      const { rows } = await client.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
         WHERE application_name = 'eventful-load' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0`,
        [schema],
      );
      terminated = rows.filter((r) => r.ok).length;
      if (terminated === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(terminated).toBe(1);
    const code = await closed;

    expect(code, stderr).toBe(1);
    expect(stderr).not.toMatch(/^\s+at /m);
    // The client sees either the server's notice or the reset socket, depending on timing.
    expect(stderr).toMatch(/terminating connection due to administrator command|ECONNRESET|Connection terminated/);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as {
      status: string;
      results: Array<{ status: string; error?: { message: string } }>;
    };
    expect(summary.status).toBe('failed');
    expect(summary.results[0]).toMatchObject({ status: 'Error' });
    const { rows } = await client.query(`SELECT to_regclass($1) AS t`, [`"${schema}".train_arrivals`]);
    expect(rows[0].t).toBeNull();

    const again = await runCommand('load', ['--snapshots', root, '--db-schema', schema]);
    expect(again.code, again.stderr).toBe(0);
    const count = await client.query(`SELECT count(*)::int AS n FROM "${schema}".train_arrivals`);
    expect(count.rows[0].n).toBe(60_000);
  });
});
