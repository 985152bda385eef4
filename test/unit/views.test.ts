import { describe, expect, it } from 'vitest';
import { maintenanceStatements } from '../../src/warehouse/answer-maintenance.js';
import { answerFingerprint } from '../../src/warehouse/answer-tables.js';
import { oracleStatements } from '../../src/warehouse/view-oracle.js';
import { resolveViewOptions, VIEW_DEFAULTS, VIEW_NAMES, viewStatements } from '../../src/warehouse/views.js';

describe('the wait-time view statements', () => {
  it('should create or replace every view, in dependency order, in the quoted schema', () => {
    const sql = viewStatements('analytics');
    expect(sql).toHaveLength(VIEW_NAMES.length);
    sql.forEach((s, i) => expect(s.startsWith(`CREATE OR REPLACE VIEW "analytics"."${VIEW_NAMES[i]}" AS`)).toBe(true));
    expect(sql[0]).toContain('FROM "analytics"."eventful_headways"');
    expect(sql.join('\n')).not.toMatch(/FROM (train_arrivals|incident_events|station_headways|eventful_\w+)\b/);
  });

  it('should read the maintained tables, never the whole arrivals table, in the views', () => {
    expect(viewStatements('analytics').join('\n')).not.toContain('train_arrivals');
    expect(oracleStatements('analytics')[0]).toContain('FROM "analytics"."train_arrivals"');
  });

  it('should name the oracle views with its prefix so both can live in one schema', () => {
    const sql = oracleStatements('analytics', {}, 'check_');
    sql.forEach((s, i) =>
      expect(s.startsWith(`CREATE OR REPLACE VIEW "analytics"."check_${VIEW_NAMES[i]}" AS`)).toBe(true),
    );
  });

  it('should refuse a schema name that is not a safe identifier', () => {
    expect(() => viewStatements('public"; DROP TABLE x; --')).toThrow(/identifier/);
    expect(() => viewStatements('Analytics')).toThrow(/identifier/);
  });

  it('should refuse a time zone, a service-gap limit or an on-time bound that could not be a literal', () => {
    expect(() => viewStatements('public', { timeZone: "UTC'; DROP TABLE x; --" })).toThrow(/time zone/);
    expect(() => viewStatements('public', { maxHeadwaySeconds: Number.NaN })).toThrow(/maxHeadwaySeconds/);
    expect(() => resolveViewOptions({ onTimeLateSeconds: -1 })).toThrow(/onTimeLateSeconds/);
    // Its whole seconds squared are summed in bigint parts: a limit keeps them inside a bigint.
    expect(resolveViewOptions({ maxHeadwaySeconds: 1e9 }).maxHeadwaySeconds).toBe(1e9);
    expect(() => resolveViewOptions({ maxHeadwaySeconds: 1e9 + 1 })).toThrow(/maxHeadwaySeconds .* at most 1000000000/);
    const zurich = resolveViewOptions({ timeZone: 'Europe/Zurich' });
    expect(
      maintenanceStatements('public', zurich, { arrivals: 'pg_temp.x' }, '"public"."incident_events"')
        .map((s) => s.sql)
        .join('\n'),
    ).toContain(`AT TIME ZONE 'Europe/Zurich'`);
    expect(oracleStatements('public', { timeZone: 'Europe/Zurich' })[0]).toContain(`AT TIME ZONE 'Europe/Zurich'`);
  });

  it('should give the on-time window its documented defaults, and rebuild the answer when a setting changes', () => {
    expect(resolveViewOptions()).toMatchObject({ onTimeEarlySeconds: 60, onTimeLateSeconds: 300 });
    expect(VIEW_DEFAULTS.onTimeLateSeconds).toBe(300);
    expect(answerFingerprint(resolveViewOptions())).not.toBe(
      answerFingerprint(resolveViewOptions({ timeZone: 'CET' })),
    );
  });

  it('should leave out the incident views when the warehouse has no incident events', () => {
    expect(viewStatements('public', { tables: ['train_arrivals'] })).toHaveLength(3);
    expect(viewStatements('public', { tables: new Set(['incident_events']) })).toHaveLength(1);
  });
});
