import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from '../../src/config/duration.js';

describe('durations', () => {
  it('should parse seconds, minutes, hours, milliseconds and bare numbers as milliseconds', () => {
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('5m')).toBe(300_000);
    expect(parseDurationMs('1h')).toBe(3_600_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1500')).toBe(1500);
    expect(parseDurationMs('1.5s')).toBe(1500);
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
