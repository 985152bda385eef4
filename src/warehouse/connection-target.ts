/**
 * Where a command connects to PostgreSQL and why it could not (pure: no I/O). node-postgres takes each setting
 * from `DATABASE_URL`, else the matching `PG*` variable, else its default (host localhost, port 5432, user $USER,
 * database = the user); this module follows the same order so an error can say which host and port were tried,
 * where each came from, and what to do. It never holds or prints the password: only where it came from.
 */
import { EventfulError, ExitCode, UsageError } from '../basics/errors.js';

/** The variable that names the whole connection. */
export const DATABASE_URL_ENV = 'DATABASE_URL';
/** node-postgres' defaults when neither `DATABASE_URL` nor a `PG*` variable gives a setting. */
export const PG_DEFAULTS = { host: 'localhost', port: 5432 } as const;

/** One connection setting, and where it came from (`DATABASE_URL`, a `PG*` variable's name, or `default`). */
export interface TargetSetting<T> {
  value: T;
  from: string;
}

/** The connection settings node-postgres will use; the password only as where it comes from, if anywhere. */
export interface ConnectionTarget {
  host: TargetSetting<string>;
  port: TargetSetting<number>;
  user: TargetSetting<string | undefined>;
  database: TargetSetting<string | undefined>;
  /** Where the password comes from (`DATABASE_URL` or `PGPASSWORD`), or undefined when none is set. */
  passwordFrom: string | undefined;
}

type Field = 'host' | 'port' | 'user' | 'database' | 'password';

/**
 * The schemes of a connection URL: postgres://, postgresql:// and their variants (SQLAlchemy's postgresql+psycopg2://,
 * which node-postgres reads the same), and socket:// for a Unix socket folder.
 */
const URL_SCHEMES = /^(postgres[a-z0-9+.-]*|socket):$/;

/** The parts of `DATABASE_URL` that name the connection, read as pg-connection-string reads them. */
function urlParts(url: string): Partial<Record<Field, string>> {
  // A Unix socket folder and a database name, separated by a space (pg-connection-string's short form).
  if (url.startsWith('/')) {
    const [host, database] = url.split(' ');
    return { ...(host && { host }), ...(database && { database }) };
  }
  // The text is never quoted: it may hold a password.
  const notAUrl = new UsageError(
    `${DATABASE_URL_ENV} is not a postgres:// connection URL: set it to postgres://user@host:port/database ` +
      `(the password in PGPASSWORD), or unset it and use the PG* variables`,
  );
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw notAUrl;
  }
  // `user:password@host/db` parses as a URL of scheme `user:`, whose "database" would be quoted, password and all.
  if (!URL_SCHEMES.test(u.protocol)) throw notAUrl;
  const decode = (s: string): string | undefined => (s ? decodeURIComponent(s) : undefined);
  const parts: Partial<Record<Field, string | undefined>> = {
    host: decode(u.hostname) ?? u.searchParams.get('host') ?? undefined,
    port: u.port || undefined,
    user: decode(u.username),
    password: decode(u.password),
    database: decode(u.pathname.replace(/^\//, '')),
  };
  return Object.fromEntries(Object.entries(parts).filter(([, v]) => v)) as Partial<Record<Field, string>>;
}

const badPort = (from: string, value: string): UsageError =>
  new UsageError(`${from} must be a port number from 1 to 65535, got "${value}"`);

/** The connection settings `env` gives node-postgres, each with where it came from. */
export function connectionTarget(env: NodeJS.ProcessEnv): ConnectionTarget {
  const url = env[DATABASE_URL_ENV];
  const fromUrl = url ? urlParts(url) : {};
  const pick = (field: Field): TargetSetting<string | undefined> => {
    const variable = `PG${field.toUpperCase()}`;
    if (fromUrl[field]) return { value: fromUrl[field], from: DATABASE_URL_ENV };
    if (env[variable]) return { value: env[variable], from: variable };
    return { value: undefined, from: 'default' };
  };
  const host = pick('host');
  const port = pick('port');
  const user = pick('user');
  const database = pick('database');
  const userValue = user.value ?? env['USER'];
  if (port.value !== undefined && !/^\d{1,5}$/.test(port.value.trim())) throw badPort(port.from, port.value);
  const portNumber = port.value === undefined ? PG_DEFAULTS.port : Number(port.value);
  if (portNumber < 1 || portNumber > 65535) throw badPort(port.from, port.value!);
  return {
    host: { value: host.value ?? PG_DEFAULTS.host, from: host.from },
    port: { value: portNumber, from: port.from },
    user: { value: userValue, from: user.value ? user.from : 'default' },
    database: database.value ? database : { value: userValue, from: 'default' },
    passwordFrom: pick('password').value ? pick('password').from : undefined,
  };
}

/**
 * The `PG*` variables set to something other than what `DATABASE_URL` names instead (it wins): a warning each, so
 * that `PGDATABASE=other` next to a URL does not quietly go unused.
 */
export function shadowedVariables(env: NodeJS.ProcessEnv): string[] {
  const url = env[DATABASE_URL_ENV];
  if (!url) return [];
  const fromUrl = urlParts(url);
  return (['host', 'port', 'user', 'database'] as const)
    .filter((field) => {
      const variable = env[`PG${field.toUpperCase()}`];
      return fromUrl[field] !== undefined && variable && variable !== fromUrl[field];
    })
    .map(
      (field) =>
        `PG${field.toUpperCase()} is set, but ${DATABASE_URL_ENV} names the ${field} too, and wins: unset one of them`,
    );
}

/** "host 127.0.0.1 from PGHOST, port 5432 by default": where the address came from, in words. */
function addressSources(t: ConnectionTarget): string {
  const said = (name: string, s: TargetSetting<unknown>): string =>
    s.from === 'default' ? `${name} by default` : `${name} from ${s.from}`;
  if (t.host.from === 'default' && t.port.from === 'default')
    return `the defaults: neither ${DATABASE_URL_ENV} nor PGHOST/PGPORT is set`;
  if (t.host.from === t.port.from) return `host and port from ${t.host.from}`;
  return `${said('host', t.host)}, ${said('port', t.port)}`;
}

/** `127.0.0.1:5432 (host and port from DATABASE_URL)`: the address and where it came from. */
export function describeAddress(t: ConnectionTarget): string {
  return `${t.host.value}:${t.port.value} (${addressSources(t)})`;
}

const HOW_TO_SET =
  `set ${DATABASE_URL_ENV}=postgres://USER@HOST:PORT/DATABASE, or PGHOST, PGPORT, PGUSER and PGDATABASE ` +
  `(the password only in PGPASSWORD)`;

/** The fields of a connection error that say what went wrong: node's `code` or Postgres' SQLSTATE. */
interface ErrorLike {
  code?: unknown;
  message?: unknown;
}

/** A connection failure that a retry may fix (exit 1) or that needs other settings (exit 2). */
function failure(message: string, code: string, exitCode = ExitCode.Failure): EventfulError {
  return new EventfulError(message, exitCode, code);
}

/**
 * Turns an error of connecting to `t` into one that says what was tried, where the settings came from and what
 * to do. Branches on node's error code or Postgres' SQLSTATE, never on message text.
 */
export function connectionError(err: unknown, t: ConnectionTarget): EventfulError {
  const e = (err ?? {}) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const reason = typeof e.message === 'string' ? e.message : String(err);
  const at = `PostgreSQL at ${describeAddress(t)}`;
  const user = `user "${t.user.value ?? ''}" (from ${t.user.from === 'default' ? 'the USER variable' : t.user.from})`;
  const database = `database "${t.database.value ?? ''}" (${t.database.from === 'default' ? "by default the user's name" : `from ${t.database.from}`})`;
  switch (code) {
    case 'ECONNREFUSED':
      return failure(
        `cannot connect to ${at}: nothing accepts connections there. Start PostgreSQL, or ${HOW_TO_SET}`,
        'db_unreachable',
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return failure(
        `cannot connect to ${at}: the host name "${t.host.value}" does not resolve. Check the name, or ${HOW_TO_SET}`,
        'db_unreachable',
      );
    case 'ENOENT':
      return failure(
        `cannot connect to ${at}: no server socket in the folder "${t.host.value}". Start PostgreSQL, or ${HOW_TO_SET}`,
        'db_unreachable',
      );
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return failure(
        `cannot connect to ${at}: the host does not answer (${code}). Check the network and firewall, or ${HOW_TO_SET}`,
        'db_unreachable',
      );
    case '28P01':
      return failure(
        `${at} refused the password of ${user}` +
          (t.passwordFrom ? ` (the password from ${t.passwordFrom})` : ' (no password is set)') +
          `: set the right one in PGPASSWORD (or in ${DATABASE_URL_ENV}), or check the user`,
        'db_auth_failed',
        ExitCode.Usage,
      );
    case '28000':
      return failure(
        `${at} does not let ${user} connect to ${database}: ${reason}. Check the user, or ask the ` +
          `database's administrator for access (pg_hba.conf)`,
        'db_auth_failed',
        ExitCode.Usage,
      );
    case '3D000':
      return failure(
        `${at} has no ${database}: create it (createdb), or name an existing one in PGDATABASE or ${DATABASE_URL_ENV}`,
        'db_missing',
        ExitCode.Usage,
      );
    case '57P03':
      return failure(`${at} is starting up or shutting down: try again in a moment`, 'db_unreachable');
    default:
      // Without a password, an error with no code is often the client's own refusal to go on (the server asked
      // for a password); it may also be a connection that broke, so it stays exit 1 (a retry may help).
      if (!t.passwordFrom && code === undefined)
        return failure(
          `cannot connect to ${at} as ${user} without a password (none in PGPASSWORD or ${DATABASE_URL_ENV}): ` +
            `${reason}. If the server asks for one, set PGPASSWORD; else check the settings: ${HOW_TO_SET}`,
          'db_connect_failed',
        );
      return failure(
        `cannot connect to ${at} as ${user}: ${reason}. Check the settings: ${HOW_TO_SET}`,
        'db_connect_failed',
      );
  }
}
