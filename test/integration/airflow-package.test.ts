import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airflowBin, airflowEnv, airflowPython } from '../helpers/airflow.js';
import { ROOT } from '../helpers/run.js';

const execFileAsync = promisify(execFile);

/** The classpath the on-lag DAG's watcher serializes and the triggerer imports. */
const TRIGGER_CLASSPATH = 'eventful_airflow.triggers.KafkaLagTrigger';

/**
 * The eventful-airflow package (airflow/): it installs with pip, the DAGs and the trigger load from the installed
 * copy, and a DAG folder without it fails with a message that says what to do.
 */
describe('the eventful-airflow package', () => {
  let bin: string;
  let bare: string;

  beforeAll(async () => {
    bin = await airflowBin();
    bare = await mkdtemp(path.join(os.tmpdir(), 'eventful-airflow-pkg-'));
  });

  afterAll(async () => {
    await rm(bare, { recursive: true, force: true });
  });

  it('should install with pip into a Python without Airflow, bringing nothing else along', async () => {
    const python = process.env['EVENTFUL_PYTHON'] ?? 'python3';
    await execFileAsync(python, ['-m', 'venv', bare]);
    const pip = path.join(bare, 'bin', 'pip');
    // The README's command, from the repository root.
    await execFileAsync(pip, ['install', '-q', '--disable-pip-version-check', './airflow'], {
      cwd: ROOT,
      timeout: 300_000,
    });
    const { stdout: list } = await execFileAsync(pip, ['list', '--format=json', '--disable-pip-version-check']);
    const installed = (JSON.parse(list) as Array<{ name: string; version: string }>)
      .filter((p) => !['pip', 'setuptools'].includes(p.name))
      .map((p) => `${p.name}==${p.version}`);
    expect(installed).toEqual(['eventful-airflow==0.1.0']);
    // Importing the top module loads no Airflow, so it checks the install anywhere.
    const { stdout } = await execFileAsync(path.join(bare, 'bin', 'python'), [
      '-c',
      'import sys, eventful_airflow; print(eventful_airflow.__version__, eventful_airflow.__file__, "airflow" in sys.modules)',
    ]);
    const [version, file, airflowLoaded] = stdout.trim().split(' ');
    expect(version).toBe('0.1.0');
    expect(file!.startsWith(path.join(bare, 'lib'))).toBe(true);
    expect(airflowLoaded).toBe('False');
    // pip builds in the source tree: what it leaves there is git-ignored, so nobody commits it by mistake.
    const leftovers = ['airflow/build', 'airflow/src/eventful_airflow.egg-info'];
    const { stdout: ignored } = await execFileAsync('git', ['check-ignore', ...leftovers], { cwd: ROOT });
    expect(ignored.trim().split('\n')).toEqual(leftovers);
  }, 300_000);

  it("should be installed in the Airflow venv, where Airflow's own loader resolves the trigger's classpath", async () => {
    const script = [
      'import json, eventful_airflow',
      'try:  # where the Airflow 3.3 triggerer takes it from',
      '    from airflow._shared.module_loading import import_string',
      'except ImportError:',
      '    from airflow.utils.module_loading import import_string',
      `cls = import_string(${JSON.stringify(TRIGGER_CLASSPATH)})`,
      'print(json.dumps({"file": eventful_airflow.__file__, "class": cls.__module__ + "." + cls.__qualname__}))',
    ].join('\n');
    const { stdout } = await execFileAsync(path.join(bin, 'python'), ['-W', 'ignore', '-c', script]);
    const got = JSON.parse(stdout.trim().split('\n').pop()!) as { file: string; class: string };
    expect(got.class).toBe(TRIGGER_CLASSPATH);
    // The installed copy in the venv's site-packages, not the repository's sources.
    expect(got.file).toContain(`${path.sep}site-packages${path.sep}eventful_airflow${path.sep}`);
    expect(got.file.startsWith(path.join(ROOT, 'airflow'))).toBe(false);
  });

  it('should pass its own unit tests against the installed copy', async () => {
    const { stderr } = await execFileAsync(
      path.join(bin, 'python'),
      ['-W', 'ignore', '-m', 'unittest', 'discover', '-s', path.join(ROOT, 'airflow/tests')],
      { cwd: path.join(ROOT, 'airflow') },
    );
    expect(stderr).toMatch(/Ran [1-9]\d* tests?[\s\S]*\nOK/);
  });

  it('should fail every DAG file with an import error that says to pip install ./airflow when it is missing', async () => {
    const errors = (await airflowPython(
      bin,
      path.join(ROOT, 'test/airflow/dagbag_without_package.py'),
      [path.join(ROOT, 'dags')],
      await airflowEnv(),
    )) as Record<string, string>;
    const dagFiles = (await readdir(path.join(ROOT, 'dags'))).filter((f) => f.endsWith('.py'));
    expect(
      Object.keys(errors)
        .map((f) => path.basename(f))
        .sort(),
    ).toEqual(dagFiles.sort());
    for (const error of Object.values(errors)) expect(error).toContain('pip install ./airflow');
  });

  it('should tell an operator whether the triggerer can load the trigger and run lag', async () => {
    const { stdout } = await execFileAsync(path.join(bin, 'python'), ['-W', 'ignore', '-m', 'eventful_airflow.check'], {
      env: { ...process.env, AIRFLOW_VAR_EVENTFUL_HOME: ROOT },
    });
    expect(stdout).toContain(`ok   the trigger ${TRIGGER_CLASSPATH} loads`);
    expect(stdout).toContain(`ok   ${path.join(ROOT, 'dist/lag.js')} exists`);
    const missing = await execFileAsync(path.join(bin, 'python'), [
      '-m',
      'eventful_airflow.check',
      '--home',
      bare,
    ]).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err,
    );
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(`FAIL ${path.join(bare, 'dist/lag.js')} is missing`);
  });
});
