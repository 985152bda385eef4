import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXTRACT_DEFAULTS, EXTRACT_ENV } from '../../src/config/extract-settings.js';
import { LAG_ENV } from '../../src/config/lag-settings.js';
import { BOOTSTRAP_SERVERS_ENV } from '../../src/config/kafka-config.js';
import { flagName } from '../../src/config/settings-support.js';
import { EXTRACT_OPTIONS } from '../../src/cli/extract.js';
import { LAG_OPTIONS } from '../../src/cli/lag.js';
import { LOAD_OPTIONS } from '../../src/cli/load.js';
import {
  booleanWords,
  EXIT_CODE_TABLE,
  SHARED_OPTIONS,
  type OptionDefinitions,
} from '../../src/cli/option-definitions.js';
import { PRUNE_ENV, PRUNE_OPTIONS } from '../../src/cli/prune.js';
import { REPORT_OPTIONS } from '../../src/cli/report.js';
import { SIMULATE_OPTIONS } from '../../src/cli/simulate.js';
import { VALIDATE_OPTIONS } from '../../src/cli/validate.js';
import { runCommand } from '../helpers/run.js';

/** Every command and the definitions its help is built from. */
const COMMANDS: Record<string, OptionDefinitions> = {
  extract: EXTRACT_OPTIONS,
  load: LOAD_OPTIONS,
  validate: VALIDATE_OPTIONS,
  simulate: SIMULATE_OPTIONS,
  report: REPORT_OPTIONS,
  lag: LAG_OPTIONS,
  prune: PRUNE_OPTIONS,
};

interface Help {
  /** Each option's help, its wrapped lines joined: `--name  Description [env: X] [type] [default: y]`. */
  options: Map<string, string>;
  /** Everything from "Exit codes:" to the end. */
  exitCodes: string;
}

/** Reads yargs' help: an option starts at a line `  --name`, its continuation lines are indented further. */
function parseHelp(text: string): Help {
  const options = new Map<string, string>();
  const section = text.slice(text.indexOf('Options:'), text.indexOf('\n\n', text.indexOf('Options:')));
  let current: string | undefined;
  for (const line of section.split('\n').slice(1)) {
    const start = /^ {2}--([a-z-]+)\s/.exec(line);
    if (start) options.set((current = start[1]!), line.trim());
    else if (current) options.set(current, `${options.get(current)!} ${line.trim()}`);
  }
  // yargs leaves no space between the description and the type when the line is exactly full.
  for (const [k, v] of options) options.set(k, v.replace(/\s+/g, ' ').replace(/\]\[/g, '] ['));
  return { options, exitCodes: text.slice(text.indexOf('Exit codes:')).trimEnd() };
}

/** The description of an option's help line: what follows the flag name. */
const descriptionOf = (line: string): string => line.replace(/^--[a-z-]+ /, '');

describe("the commands' --help", () => {
  const helps = new Map<string, Help>();

  it('should print help and exit 0 for each of the seven commands', async () => {
    const runs = await Promise.all(
      Object.keys(COMMANDS).map(async (c) => [c, await runCommand(c, ['--help'])] as const),
    );
    for (const [command, r] of runs) {
      expect(r.code, `${command}: ${r.stderr}`).toBe(0);
      expect(r.stdout, command).toMatch(new RegExp(`^eventful-${command} `));
      helps.set(command, parseHelp(r.stdout));
    }
    expect(helps.size).toBe(7);
  });

  it('should end every help with the same exit-code table', () => {
    for (const [command, help] of helps) expect(help.exitCodes, command).toBe(EXIT_CODE_TABLE);
  });

  it('should list every defined option with a description that starts with a capital letter', () => {
    for (const [command, help] of helps) {
      expect([...help.options.keys()].sort(), command).toEqual([...Object.keys(COMMANDS[command]!), 'help'].sort());
      for (const [name, line] of help.options) expect(descriptionOf(line), `${command} --${name}`).toMatch(/^[A-Z]/);
    }
  });

  it('should show [env: NAME] exactly for the options that read a variable', () => {
    for (const [command, help] of helps)
      for (const [name, d] of Object.entries(COMMANDS[command]!)) {
        const line = help.options.get(name)!;
        if (d.env) expect(line, `${command} --${name}`).toContain(`[env: ${d.env}]`);
        else expect(line, `${command} --${name}`).not.toContain('[env:');
      }
  });

  it('should type no numeric option as [string]', () => {
    for (const [command, help] of helps)
      for (const [name, line] of help.options) {
        const d = COMMANDS[command]![name];
        if (d?.type === 'number' || typeof d?.default === 'number')
          expect(line, `${command} --${name}`).toMatch(/\[number\]/);
        // A bare number as the default of a [string] option would be a number typed as text.
        expect(line, `${command} --${name}`).not.toMatch(/\[string\] \[default: -?[\d.]+\]/);
      }
  });

  it('should word a shared option identically in every command that has it', () => {
    let compared = 0;
    for (const name of Object.keys(SHARED_OPTIONS)) {
      const lines = [...helps].filter(([, h]) => h.options.has(name)).map(([c, h]) => [c, h.options.get(name)!]);
      for (const [command, line] of lines) expect(line, `${command} --${name}`).toBe(lines[0]![1]);
      compared += lines.length;
    }
    expect(compared).toBeGreaterThan(Object.keys(SHARED_OPTIONS).length);
  });

  it("should name in each option the variable the command's settings module reads", () => {
    const tables: Array<[OptionDefinitions, Readonly<Record<string, string>>]> = [
      [EXTRACT_OPTIONS, EXTRACT_ENV],
      [LAG_OPTIONS, LAG_ENV],
      [PRUNE_OPTIONS, PRUNE_ENV],
    ];
    for (const [options, env] of tables)
      for (const [setting, variable] of Object.entries(env)) {
        const name = flagName(setting).slice(2);
        expect(options[name]?.env, `--${name}`).toBe(variable);
      }
    // The Kafka options' variables are read by resolveKafkaConfig.
    expect(SHARED_OPTIONS['bootstrap-servers'].env).toBe(BOOTSTRAP_SERVERS_ENV);
    expect(SHARED_OPTIONS['max-rejected-ratio'].default).toBe(EXTRACT_DEFAULTS.maxRejectedRatio);
  });

  it('should end every usage error by pointing at the command’s --help', async () => {
    const runs = await Promise.all(
      Object.keys(COMMANDS).map(async (c) => [c, await runCommand(c, ['--bogus'])] as const),
    );
    for (const [command, r] of runs) {
      expect(r.code, command).toBe(2);
      const error = r.summary?.['error'] as { message: string } | undefined;
      expect(error?.message, command).toMatch(
        new RegExp(`^Unknown argument: bogus \\(see \`eventful-${command} --help\`\\)$`),
      );
    }
  });

  it('should name the flag when a number option is given text', async () => {
    const r = await runCommand('report', ['--top', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--top must be a number, e\.g\. --top 10 \(see `eventful-report --help`\)/);
  });
});

describe('boolean flags given a value', () => {
  it('should read the words their variables take, and refuse any other instead of running for real', async () => {
    // yargs alone read `--dry-run=yes` as false: simulate would have produced to Kafka.
    const yes = await runCommand('simulate', ['--dry-run=yes', '--duration', '10m']);
    expect(yes.code, yes.stderr).toBe(0);
    expect(yes.summary).toMatchObject({ status: 'ok', dry_run: true });
    const off = booleanWords(['--dry-run=OFF', '--batch-size=3', '--answer'], LOAD_OPTIONS);
    expect(off).toEqual(['--dry-run=false', '--batch-size=3', '--answer']);
    expect(booleanWords(['--dryRun=yes', '--kafka=a=b'], LOAD_OPTIONS)).toEqual(['--dryRun=true', '--kafka=a=b']);

    const maybe = await runCommand('simulate', ['--dry-run=maybe', '--duration', '10m']);
    expect(maybe.code).toBe(2);
    expect(maybe.stderr).toMatch(
      /--dry-run takes no value, or one of 1, true, yes, on, 0, false, no, off; got "maybe" \(see/,
    );
  });
});

describe('a boolean flag given twice', () => {
  it('should be refused in any spelling rather than do what its last word says (it ran extract for real)', async () => {
    for (const argv of [
      ['--dry-run', '--no-dry-run'],
      ['--dryRun=false', '--dry-run'],
      ['--no-answer', '--answer=yes'],
    ])
      expect(() => booleanWords(argv, LOAD_OPTIONS), argv.join(' ')).toThrow(/is given more than once: give it once/);
    const r = await runCommand('simulate', ['--dry-run', '--no-dry-run', '--duration', '10m']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--dry-run is given more than once: give it once, as --dry-run or --no-dry-run \(see/);
  });
});

describe('a --snapshots folder that does not exist', () => {
  it('should make prune refuse it (exit 2, as load does) rather than skip the task with nothing to prune', async () => {
    const missing = path.join(os.tmpdir(), `eventful-no-such-folder-${process.pid}`);
    const r = await runCommand('prune', ['--snapshots', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${missing} does not exist: check --snapshots (or EVENTFUL_SNAPSHOTS)`);
  });
});
