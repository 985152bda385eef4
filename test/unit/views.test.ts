import { describe, expect, it } from 'vitest';
import { VIEW_NAMES, viewStatements } from '../../src/warehouse/views.js';

describe('the wait-time view statements', () => {
  it('should create or replace every view, in dependency order, in the quoted schema', () => {
    const sql = viewStatements('analytics');
    expect(sql).toHaveLength(VIEW_NAMES.length);
    sql.forEach((s, i) => expect(s.startsWith(`CREATE OR REPLACE VIEW "analytics"."${VIEW_NAMES[i]}" AS`)).toBe(true));
    expect(sql[0]).toContain('FROM "analytics"."train_arrivals"');
    expect(sql.join('\n')).not.toMatch(/FROM (train_arrivals|incident_events|station_headways)\b/);
  });

  it('should refuse a schema name that is not a safe identifier', () => {
    expect(() => viewStatements('public"; DROP TABLE x; --')).toThrow(/identifier/);
    expect(() => viewStatements('Analytics')).toThrow(/identifier/);
  });

  it('should refuse a time zone or a service-gap limit that could not be a literal', () => {
    expect(() => viewStatements('public', { timeZone: "UTC'; DROP TABLE x; --" })).toThrow(/time zone/);
    expect(() => viewStatements('public', { maxHeadwaySeconds: Number.NaN })).toThrow(/maxHeadwaySeconds/);
    expect(viewStatements('public', { timeZone: 'Europe/Zurich' })[0]).toContain(`AT TIME ZONE 'Europe/Zurich'`);
  });

  it('should leave out the incident views when the warehouse has no incident events', () => {
    expect(viewStatements('public', { tables: ['train_arrivals'] })).toHaveLength(3);
    expect(viewStatements('public', { tables: new Set(['incident_events']) })).toHaveLength(1);
  });
});
