import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './run.js';

const execFileAsync = promisify(execFile);

/** The bin folder of the real Airflow virtualenv made by `scripts/airflow venv`. */
export async function airflowBin(): Promise<string> {
  await execFileAsync(path.join(ROOT, 'scripts/airflow'), ['venv'], { timeout: 600_000 });
  const { stdout } = await execFileAsync(path.join(ROOT, 'scripts/airflow'), ['path']);
  return stdout.trim();
}

/** Environment of an Airflow with its own throwaway AIRFLOW_HOME (SQLite) pointed at the repo's dags/. */
export async function airflowEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'eventful-airflow-'));
  return {
    ...(process.env as Record<string, string>),
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: path.join(ROOT, 'dags'),
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__LOGGING__LOGGING_LEVEL: 'ERROR',
    PYTHONWARNINGS: 'ignore',
    ...extra,
  };
}

/** Runs the venv's `airflow` CLI; resolves with its exit code and output (never throws on a non-zero exit). */
export async function airflow(
  bin: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 300_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(path.join(bin, 'airflow'), args, {
      env,
      timeout: timeoutMs,
      maxBuffer: 1 << 28,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Runs a Python script with the venv's interpreter and parses its JSON stdout. */
export async function airflowPython(
  bin: string,
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<unknown> {
  const { stdout } = await execFileAsync(path.join(bin, 'python'), [script, ...args], { env, maxBuffer: 1 << 26 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? 'null');
}
