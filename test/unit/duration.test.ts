import { describe, expect, it } from 'vitest';
import { durationProblem, formatDurationMs, parseDurationMs } from '../../src/config/duration.js';

describe('durations', () => {
  it('should parse seconds, minutes, hours and milliseconds, each with its unit', () => {
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('5m')).toBe(300_000);
    expect(parseDurationMs('1h')).toBe(3_600_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('0')).toBe(0);
  });

  it('should refuse a number without its unit, and say what to write', () => {
    // `--grace 24` read as 24 ms let prune remove the folder of an extract still writing it.
    expect(parseDurationMs('24')).toBeUndefined();
    expect(parseDurationMs('1500')).toBeUndefined();
    expect(durationProblem('24')).toBe('"24" has no unit: write 24s, 24m, 24h or 24d (24ms for milliseconds)');
    expect(durationProblem('soon')).toBe('got "soon": write a number and its unit, such as 90s, 30m, 24h or 7d');
  });

  it('should refuse anything else', () => {
    for (const bad of ['', 'soon', '-5s', '5w', '1e3', 's']) expect(parseDurationMs(bad)).toBeUndefined();
    expect(parseDurationMs('7d')).toBe(7 * 86_400_000);
  });

  it('should format durations for people', () => {
    expect(formatDurationMs(850)).toBe('850ms');
    expect(formatDurationMs(12_340)).toBe('12.3s');
    expect(formatDurationMs(245_000)).toBe('4m05s');
    expect(formatDurationMs(5 * 3_600_000 + 7 * 60_000)).toBe('5h07m');
    expect(formatDurationMs(24 * 3_600_000)).toBe('24h00m');
    expect(formatDurationMs(7 * 24 * 3_600_000)).toBe('7d00h');
  });
});
