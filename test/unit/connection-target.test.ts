import { describe, expect, it } from 'vitest';
import {
  connectionError,
  connectionTarget,
  describeAddress,
  shadowedVariables,
} from '../../src/warehouse/connection-target.js';

const SECRET = 's3cr3t-pw';

describe('connectionTarget', () => {
  it('should take host and port from the defaults when nothing is set', () => {
    const t = connectionTarget({ USER: 'ann' });
    expect(describeAddress(t)).toBe('localhost:5432 (the defaults: neither DATABASE_URL nor PGHOST/PGPORT is set)');
    expect(t.user).toEqual({ value: 'ann', from: 'default' });
    expect(t.database).toEqual({ value: 'ann', from: 'default' });
    expect(t.passwordFrom).toBeUndefined();
  });

  it('should take what DATABASE_URL names from it and the rest from the PG variables', () => {
    const t = connectionTarget({
      DATABASE_URL: 'postgres://bob@db.example:6543',
      PGDATABASE: 'wh',
      PGPASSWORD: SECRET,
    });
    expect(describeAddress(t)).toBe('db.example:6543 (host and port from DATABASE_URL)');
    expect(t.database).toEqual({ value: 'wh', from: 'PGDATABASE' });
    expect(t.passwordFrom).toBe('PGPASSWORD');
  });

  it('should say where host and port came from when they came from different places', () => {
    expect(describeAddress(connectionTarget({ PGHOST: 'pg.internal' }))).toBe(
      'pg.internal:5432 (host from PGHOST, port by default)',
    );
  });

  it('should refuse a DATABASE_URL that is not a postgres:// URL without quoting it', () => {
    // The second has no scheme: read as a URL of scheme `eve:`, its "database" held the password.
    for (const url of [
      `not a url ${SECRET}`,
      `eve:${SECRET}@10.0.0.9:5433/wh`,
      `jdbc:postgresql://h/wh?password=${SECRET}`,
    ]) {
      let message = '';
      try {
        connectionTarget({ DATABASE_URL: url });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, url).toMatch(/^DATABASE_URL is not a postgres:\/\/ connection URL: set it to postgres:\/\//);
      expect(message).not.toContain(SECRET);
    }
    expect(connectionTarget({ DATABASE_URL: 'postgresql+psycopg2://eve@h/wh' }).database.value).toBe('wh');
    expect(connectionTarget({ DATABASE_URL: 'postgresql://eve@h:5433/wh' }).port).toEqual({
      value: 5433,
      from: 'DATABASE_URL',
    });
  });
});

describe('shadowedVariables', () => {
  it('should name each PG variable that DATABASE_URL overrides with another value, and never a password', () => {
    const env = {
      DATABASE_URL: `postgres://eve:${SECRET}@10.0.0.9:5433/wh`,
      PGDATABASE: 'other',
      PGPORT: '5433',
      PGPASSWORD: 'another-secret',
      PGHOST: 'db',
    };
    expect(shadowedVariables(env)).toEqual([
      'PGHOST is set, but DATABASE_URL names the host too, and wins: unset one of them',
      'PGDATABASE is set, but DATABASE_URL names the database too, and wins: unset one of them',
    ]);
    expect(shadowedVariables({ PGDATABASE: 'other' })).toEqual([]);
  });
});

describe('connectionError', () => {
  const target = connectionTarget({ DATABASE_URL: `postgres://eve:${SECRET}@10.0.0.9:5433/wh` });

  it('should say what was tried, from where, and what to do when nothing listens', () => {
    const e = connectionError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), target);
    expect(e.message).toMatch(/^cannot connect to PostgreSQL at 10\.0\.0\.9:5433 \(host and port from DATABASE_URL\)/);
    expect(e.message).toMatch(/Start PostgreSQL, or set DATABASE_URL=/);
    expect(e.exitCode).toBe(1);
    expect(e.code).toBe('db_unreachable');
  });

  it('should treat a refused password as configuration and never print the password', () => {
    const e = connectionError({ code: '28P01', message: 'password authentication failed for user "eve"' }, target);
    expect(e.message).toMatch(
      /refused the password of user "eve" \(from DATABASE_URL\) \(the password from DATABASE_URL\)/,
    );
    expect(e.message).not.toContain(SECRET);
    expect(e.exitCode).toBe(2);
  });

  it('should name the missing database and where its name came from', () => {
    const e = connectionError({ code: '3D000', message: 'database "wh" does not exist' }, target);
    expect(e.message).toMatch(/has no database "wh" \(from DATABASE_URL\): create it/);
    expect(e.code).toBe('db_missing');
    expect(e.exitCode).toBe(2);
  });

  it('should branch on the code, not on the text, of an unknown error', () => {
    const e = connectionError({ message: 'connect ECONNREFUSED 1.2.3.4:5' }, target);
    expect(e.code).toBe('db_connect_failed');
    expect(e.message).toMatch(/Check the settings/);
    expect(e.exitCode).toBe(1);
  });

  it('should say to set PGPASSWORD when a client without a password cannot go on', () => {
    const none = connectionTarget({ PGHOST: 'db', PGUSER: 'eve' });
    const e = connectionError({ message: 'SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string' }, none);
    expect(e.message).toMatch(/without a password \(none in PGPASSWORD or DATABASE_URL\): .*set PGPASSWORD/);
    // It may also be a connection that broke: a retry may help.
    expect(e.exitCode).toBe(1);
  });

  it('should refuse a port that is not a number from 1 to 65535, naming where it came from', () => {
    expect(() => connectionTarget({ PGPORT: 'abc' })).toThrow(
      /^PGPORT must be a port number from 1 to 65535, got "abc"$/,
    );
    expect(() => connectionTarget({ PGPORT: '70000' })).toThrow(/PGPORT must be a port number/);
    expect(connectionTarget({ PGPORT: '6432' }).port).toEqual({ value: 6432, from: 'PGPORT' });
  });
});
