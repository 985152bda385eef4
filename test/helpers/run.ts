import { spawn } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** What a finished command left behind. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (the summary Airflow pushes to XCom), if it is JSON. */
  summary: Record<string, unknown> | undefined;
}

/** Runs a compiled command (`dist/<name>.js`) as Airflow's BashOperator would, and collects its output. */
export function runCommand(
  name: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', `${name}.js`), ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 110_000);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trimEnd().split('\n').pop() ?? '';
      let summary: Record<string, unknown> | undefined;
      try {
        summary = JSON.parse(last) as Record<string, unknown>;
      } catch {
        summary = undefined;
      }
      resolve({ code, signal, stdout, stderr, summary });
    }),
  );
}
