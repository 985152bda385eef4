#!/usr/bin/env node
/**
 * The fault campaign: proves "exactly once in the warehouse, whatever happens" by trying hard to break it.
 *
 *   node test/campaign/fault-campaign.mjs [--store dir|s3] [--seed S] [--faults N] [--short] [--kinds K,..] [--rate R] [--keep]
 *
 * While `simulate` produces continuously (one run after another, each a new window of simulated time) to two
 * 6-partition topics of its own, it runs `extract` → `load` cycles against the real Kafka broker, PostgreSQL and a
 * snapshot store: with `--store dir` (the default) a size-limited snapshot root (a tmpfs); with `--store s3` a fresh
 * key prefix of its own in the s3proxy bucket (`s3://$EVENTFUL_S3_BUCKET/campaign-<tag>/`, credentials and endpoint
 * from AWS_*). It injects faults at points chosen by the seed (the same kinds for both stores, but the store's own
 * kind: disk-full for a directory, s3-restart for S3):
 *
 *   extract-crash-hook  SIGKILL of extract at a test hook: mid-drain, before-publish, after-publish, after-commit
 *   extract-sigkill     SIGKILL of extract a random delay after it started draining
 *   load-crash-hook     SIGKILL of load at a test hook: before-ledger, before-commit
 *   load-sigkill        SIGKILL of load a random delay after it found its pending snapshots
 *   kafka-restart       the broker stopped (scripts/kafka stop) a random delay into a drain, restarted seconds later
 *   kafka-commit-restart the broker stopped just as extract is about to commit (extract frozen with SIGSTOP right
 *                       after publishing, resumed while the broker is down or once its port opens again): extract
 *                       must commit in the same run (exit 0, offsets committed), waiting for the broker or trying
 *                       again where the coordinator still loads
 *   kafka-commit-refused another consumer joins the group just as extract is about to commit (extract frozen with
 *                       SIGSTOP right after publishing; kcat's balanced consumer, committing nothing, joins; extract
 *                       resumed; the member leaves 0.8-2.5 s later): the broker refuses commits from outside a group
 *                       that has members (Unknown member), so extract must try again and commit in the same run
 *   postgres-restart    PostgreSQL stopped (scripts/postgres stop) a random delay into a load, restarted
 *   disk-full           (dir) the snapshot root filled up to a few KB before an extract (the operator then frees it)
 *   s3-restart          (s3) s3proxy stopped (scripts/s3proxy stop) a random delay into an extract's drain or a load,
 *                       kept down until that run ended (at least 1-5 s), restarted: a run that still needed the store
 *                       must fail cleanly (extract: exit 1, nothing published, nothing committed; load: exit 1), and
 *                       the next extract and load must succeed
 *   snapshot-tamper     a snapshot file (an object in S3) truncated, altered or extended, or a manifest broken; load
 *                       must refuse it (a loaded snapshot's altered manifest: load must not read it again, and
 *                       load --verify-loaded must refuse it); the operator then restores the original bytes (a tampered snapshot is refused
 *                       forever, and its events cannot be re-extracted: their offsets were committed when it was
 *                       published)
 *
 * Then it stops producing, runs clean extract + load cycles until both have nothing left to do, and compares the
 * warehouse with what an independent consumer (kcat) reads from the topics:
 *   - the set of event ids in the event tables equals the set produced: 0 lost, 0 duplicated, 0 extra, and every
 *     row sits at its event's Kafka coordinates;
 *   - the ledger's snapshots tile every partition from offset 0 to its end, with no gap, and overlap only where
 *     the earlier snapshot's run did not commit (a crash re-read);
 *   - the `incidents` state table equals a reference computed from the produced incident events (latest by
 *     occurred_at, then topic, partition, offset, per incident_id).
 * Then `prune` (grace 0): its dry run must list exactly the leftovers of killed or failed attempts (directory:
 * `.tmp-*` folders; S3: attempt folders no manifest names, and unfinished multipart uploads), found independently
 * by listing the store; the real run must remove them all and leave every complete snapshot (manifest and the files
 * it names, at their sizes) untouched. With S3, one extract is killed mid-upload (a multipart upload in flight)
 * before the catch-up, so that there is always a killed upload to prune.
 * It prints the figures (a table on stderr, one JSON line on stdout, both naming the store) and exits 1 on any loss,
 * duplicate, mismatch or broken invariant, 2 on bad usage. Services are always restarted, the tmpfs unmounted (dir)
 * and, on success, the campaign's key prefix deleted (s3) at the end.
 *
 * Needs: the services (started with `scripts/services up` when KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL, or with
 * --store s3 AWS_ENDPOINT_URL_S3, are not set), a built dist/ (`npm run build`), kcat, and for --store dir root for
 * the tmpfs (without it the disk-full kind is skipped).
 * --short is the CI form (one fault of each kind, about 2 minutes); the default is 24 faults.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';

const execFileP = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

/** @typedef {'extract-crash-hook'|'extract-sigkill'|'load-crash-hook'|'load-sigkill'|'kafka-restart'|'kafka-commit-restart'|'kafka-commit-refused'|'postgres-restart'|'disk-full'|'s3-restart'|'snapshot-tamper'} FaultKind */
/** @typedef {'dir'|'s3'} StoreKind */

/** The kinds injected whatever the store, and each store's own. */
const COMMON_KINDS = /** @type {const} */ ([
  'extract-crash-hook',
  'extract-sigkill',
  'load-crash-hook',
  'load-sigkill',
  'kafka-restart',
  'kafka-commit-restart',
  'kafka-commit-refused',
  'postgres-restart',
]);
/** @type {Record<StoreKind, FaultKind[]>} */
export const FAULT_KINDS_BY_STORE = {
  dir: [...COMMON_KINDS, 'disk-full', 'snapshot-tamper'],
  s3: [...COMMON_KINDS, 's3-restart', 'snapshot-tamper'],
};
export const STORES = /** @type {StoreKind[]} */ (Object.keys(FAULT_KINDS_BY_STORE));
const EXTRACT_HOOKS = ['mid-drain', 'before-publish', 'after-publish', 'after-commit'];
const LOAD_HOOKS = ['before-ledger', 'before-commit'];
const KAFKA_OUTAGES = ['brief', 'long'];
/** When extract, frozen before its commit, resumes: while the broker is down, or as its port opens again. */
const COMMIT_RESUMES = ['while-down', 'port-open'];
/** Which run s3proxy goes away under. */
const S3_OUTAGES = ['during-extract', 'during-load'];
const TAMPERS = [
  'truncate-events',
  'flip-byte-events',
  'append-line-events',
  'truncate-manifest',
  'alter-loaded-manifest',
];
/** What load may answer for a tampered snapshot. */
const REFUSAL_CODES = ['checksum_mismatch', 'unreadable_manifest', 'snapshot_refused', 'ledger_mismatch'];
const COMMAND_TIMEOUT_MS = 180_000;
/** Tries of a fault that missed its moment. */
const MAX_ATTEMPTS = 3;
const LAKE_MB = 256;

// ---------------------------------------------------------------------------------------------------------------
// Small utilities

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
/** Progress on stderr. */
function say(message) {
  process.stderr.write(`[campaign ${elapsed()}s] ${message}\n`);
}

/** A seeded PRNG (sfc32 over the sha256 of the seed): the same seed makes the same choices. */
export class Rng {
  /** @param {string} seed */
  constructor(seed) {
    const h = createHash('sha256').update(seed).digest();
    this.s = [0, 4, 8, 12].map((i) => h.readUInt32LE(i));
    for (let i = 0; i < 12; i++) this.next();
  }
  /** @returns {number} in [0, 1) */
  next() {
    let [a, b, c, d] = this.s;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.s = [a, b, c, d];
    return (t >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min, max) {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  /** @template T @param {readonly T[]} xs @returns {T} */
  pick(xs) {
    return xs[Math.floor(this.next() * xs.length)];
  }
  /** @template T @param {T[]} xs @returns {T[]} a shuffled copy */
  shuffle(xs) {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

/** Parses `export NAME=value` lines as printed by `scripts/services env`. */
function parseExports(text) {
  /** @type {Record<string,string>} */
  const env = {};
  for (const m of text.matchAll(/^export ([A-Z_][A-Z0-9_]*)=(.*)$/gm)) env[m[1]] = m[2];
  return env;
}

/**
 * @typedef {{ code: number|null, signal: string|null, stdout: string, stderr: string,
 *   summary: any, durationMs: number, timedOut: boolean }} ProcResult
 * @typedef {{ child: import('node:child_process').ChildProcess, done: Promise<ProcResult>,
 *   alive: () => boolean, stderrSoFar: () => string, waitFor: (re: RegExp) => Promise<boolean> }} Proc
 */

let procSeq = 0;
/**
 * Starts `node dist/<name>.js args` with the campaign's environment plus `env`; its output is also kept in
 * `<work>/logs`.
 * @param {string} name @param {string[]} args @param {{env?: Record<string,string>, timeoutMs?: number}} [o]
 * @returns {Proc}
 */
function startCommand(name, args, o = {}) {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', `${name}.js`), ...args], {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seq = ++procSeq;
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  /** @type {Array<{re: RegExp, resolve: (b: boolean) => void}>} */
  let waiters = [];
  child.stdout.on('data', (d) => (stdout += d.toString()));
  child.stderr.on('data', (d) => {
    stderr += d.toString();
    waiters = waiters.filter((w) => (w.re.test(stderr) ? (w.resolve(true), false) : true));
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, o.timeoutMs ?? COMMAND_TIMEOUT_MS);
  const done = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const w of waiters) w.resolve(false);
      waiters = [];
      let summary;
      try {
        summary = JSON.parse(stdout.trimEnd().split('\n').pop() ?? '');
      } catch {
        summary = undefined;
      }
      const r = { code, signal, stdout, stderr, summary, durationMs: Date.now() - started, timedOut };
      if (state.logDir)
        writeFile(
          path.join(state.logDir, `${String(seq).padStart(4, '0')}-${name}.log`),
          `$ ${name} ${args.join(' ')}\n${JSON.stringify(o.env ?? {})}\nexit ${code} signal ${signal} ${r.durationMs} ms\n--- stderr\n${stderr}--- stdout\n${stdout}`,
        ).catch(() => undefined);
      resolve(r);
    }),
  );
  return {
    child,
    done,
    alive: () => child.exitCode === null && child.signalCode === null,
    stderrSoFar: () => stderr,
    waitFor: (re) =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve(re.test(stderr))
        : re.test(stderr)
          ? Promise.resolve(true)
          : new Promise((resolve) => waiters.push({ re, resolve })),
  };
}

/** Runs a service script (scripts/kafka, scripts/postgres, scripts/s3proxy); throws on failure. */
/**
 * Starts kcat's balanced consumer in group `group` on `topics`, committing nothing: another member of the group.
 * `joined` resolves true once the group gave it partitions (false if it ended first or within 30 s); `leave` stops
 * it with SIGINT, after which it leaves the group, and resolves when it has ended.
 * @param {string} servers @param {string} group @param {string[]} topics
 */
function startGroupMember(servers, group, topics) {
  const args = ['-b', servers, '-G', group, '-X', 'enable.auto.commit=false', '-X', 'session.timeout.ms=6000'];
  const child = spawn('kcat', [...args, ...topics], { stdio: ['ignore', 'ignore', 'pipe'] });
  state.members.add(child);
  // 'error' (kcat missing) comes instead of 'close'.
  const ended = new Promise((resolve) => {
    child.on('close', resolve);
    child.on('error', resolve);
  }).then(() => void state.members.delete(child));
  const joined = new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve(false), 30_000);
    child.stderr.on('data', (d) => {
      text += d.toString();
      if (/rebalanced .*assigned:/.test(text)) (clearTimeout(timer), resolve(true));
    });
    void ended.then(() => (clearTimeout(timer), resolve(false)));
  });
  return {
    joined,
    leave: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      // A member that does not leave within 10 s is killed (the broker then drops it after its session timeout).
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await ended;
      clearTimeout(killer);
    },
  };
}

/** Resolves true once process `pid` is stopped (SIGSTOP), false when it ended first or within `timeoutMs`. */
async function stopped(pid, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (text === '') return false;
    if (/^\d+ \(.*\) T /.test(text)) return true;
    await sleep(50);
  }
  return false;
}

/** Resolves once the first `host:port` of `servers` accepts a TCP connection (or after `timeoutMs`). */
async function portOpen(servers, timeoutMs) {
  const [host, port] = (servers.split(',')[0] ?? '').split(':');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise((resolve) => {
      const socket = net.connect({ host, port: Number(port) });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => (socket.destroy(), resolve(false)));
    });
    if (open) return;
    await sleep(50);
  }
}

async function service(name, command) {
  const t = Date.now();
  await execFileP(path.join(ROOT, 'scripts', name), [command], { timeout: 240_000 });
  return Date.now() - t;
}

// ---------------------------------------------------------------------------------------------------------------
// The snapshot stores, as the campaign (the operator) sees them: everything else is the same for both.

/**
 * @typedef {object} Lake
 * @property {StoreKind} store
 * @property {string} location what extract --out and load --snapshots get
 * @property {() => Promise<string[]>} ids snapshot ids (folders, or key prefixes), sorted; hidden ones left out
 * @property {() => Promise<string[]>} complete ids of the snapshots that have a manifest, sorted
 * @property {(id: string) => Promise<string|undefined>} manifestText a manifest as stored, undefined when missing
 * @property {(id: string, file: string) => Promise<Buffer>} read a stored file of a snapshot (`file`: its manifest
 *   entry's path, or manifest.json)
 * @property {(id: string, file: string, bytes: Buffer) => Promise<void>} write overwrites a stored file
 * @property {(id: string, file: string) => Promise<number|undefined>} size a stored file's size, undefined if missing
 * @property {() => Promise<string[]>} leftovers what killed or failed attempts left, as prune names it (its
 *   `location`), found independently: `.tmp-*` folders, or attempt folders no manifest names and unfinished
 *   multipart uploads
 * @property {() => Promise<void>} dispose removes the lake (after a successful campaign)
 * @property {() => Promise<string[]>} [uploadsInFlight] (S3) keys of the multipart uploads not completed
 */

/** Where a snapshot's file is stored, relative to the snapshot: the manifest entry's `path`, or its name. */
function storedPath(manifestText, name) {
  const entry = JSON.parse(manifestText).files?.find((f) => f.name === name);
  return entry?.path ?? name;
}

/** @param {string} root a folder @returns {Lake} */
function directoryLake(root) {
  const names = async () => (await readdir(root).catch(() => [])).sort();
  const lake = {
    store: /** @type {const} */ ('dir'),
    location: root,
    ids: async () => (await names()).filter((n) => !n.startsWith('.')),
    complete: async () => (await lake.ids()).filter((n) => existsSync(path.join(root, n, 'manifest.json'))),
    manifestText: (id) => readFile(path.join(root, id, 'manifest.json'), 'utf8').catch(() => undefined),
    read: (id, file) => readFile(path.join(root, id, file)),
    write: (id, file, bytes) => writeFile(path.join(root, id, file), bytes),
    size: async (id, file) => (await stat(path.join(root, id, file)).catch(() => undefined))?.size,
    leftovers: async () => (await names()).filter((n) => n.startsWith('.tmp-')).map((n) => path.join(root, n)),
    dispose: async () => undefined, // the work folder goes with it
  };
  return lake;
}

/**
 * @param {import('@aws-sdk/client-s3').S3Client} client @param {string} bucket @param {string} prefix ending in '/'
 * @returns {Lake}
 */
function s3Lake(client, bucket, prefix) {
  const url = (key) => `s3://${bucket}/${key}`;
  /** Every object under the prefix: key and size. */
  const objects = async () => {
    const out = [];
    let token;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const o of page.Contents ?? []) if (o.Key) out.push({ key: o.Key, bytes: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  };
  const uploads = async () => {
    const out = [];
    let keyMarker;
    let uploadIdMarker;
    do {
      const page = await client.send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          Prefix: prefix,
          ...(keyMarker ? { KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker } : {}),
        }),
      );
      for (const u of page.Uploads ?? []) if (u.Key && u.UploadId) out.push({ key: u.Key, uploadId: u.UploadId });
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return out;
  };
  const isNotFound = (err) =>
    err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404;
  const lake = {
    store: /** @type {const} */ ('s3'),
    location: url(prefix.slice(0, -1)),
    ids: async () =>
      [...new Set((await objects()).map((o) => o.key.slice(prefix.length).split('/')[0]))]
        .filter((id) => id && !id.startsWith('.'))
        .sort(),
    complete: async () =>
      (await objects())
        .map((o) => o.key.slice(prefix.length).split('/'))
        .filter((parts) => parts.length === 2 && parts[1] === 'manifest.json' && !parts[0].startsWith('.'))
        .map((parts) => parts[0])
        .sort(),
    manifestText: async (id) => {
      try {
        return await lake.read(id, 'manifest.json').then((b) => b.toString('utf8'));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    read: async (id, file) => {
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}${id}/${file}` }));
      return Buffer.from(await got.Body.transformToByteArray());
    },
    write: async (id, file, bytes) => {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${id}/${file}`, Body: bytes }));
    },
    size: async (id, file) => {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}${id}/${file}` }));
        return head.ContentLength;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    uploadsInFlight: async () => (await uploads()).map((u) => u.key),
    leftovers: async () => {
      // Objects by snapshot id, then by the folder below it ('' for those right in it).
      /** @type {Map<string, Map<string, string[]>>} */
      const byId = new Map();
      const manifests = new Set();
      for (const o of await objects()) {
        const parts = o.key.slice(prefix.length).split('/');
        if (parts.length < 2 || parts[0].startsWith('.')) continue;
        if (parts.length === 2 && parts[1] === 'manifest.json') {
          manifests.add(parts[0]);
          continue;
        }
        const folders = byId.get(parts[0]) ?? new Map();
        byId.set(parts[0], folders);
        const folder = parts.length > 2 ? parts[1] : '';
        folders.set(folder, [...(folders.get(folder) ?? []), o.key]);
      }
      const out = [];
      for (const [id, folders] of byId) {
        const named = new Set();
        if (manifests.has(id)) {
          const text = await lake.manifestText(id);
          for (const f of JSON.parse(text ?? '{}').files ?? []) named.add(`${prefix}${id}/${f.path ?? f.name}`);
        }
        for (const [folder, keys] of folders)
          if (keys.every((k) => !named.has(k))) out.push(url(folder ? `${prefix}${id}/${folder}/` : `${prefix}${id}/`));
      }
      for (const u of await uploads()) out.push(`${url(u.key)} (unfinished multipart upload)`);
      return out.sort();
    },
    dispose: async () => {
      for (const u of await uploads())
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId }));
      const keys = (await objects()).map((o) => o.key);
      for (let i = 0; i < keys.length; i += 16)
        await Promise.all(
          keys.slice(i, i + 16).map((Key) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key }))),
        );
    },
  };
  return lake;
}

// ---------------------------------------------------------------------------------------------------------------
// Campaign state

const state = {
  /** @type {string|undefined} */ logDir: undefined,
  /** @type {Lake|undefined} */ lake: undefined,
  /** The directory store's root (a tmpfs when mounted); '' for S3. */
  lakeDir: '',
  mounted: false,
  kafkaDown: false,
  postgresDown: false,
  s3Down: false,
  /** @type {string|undefined} */ filler: undefined,
  /** The original bytes of tampered files, as the operator's copy. */
  /** @type {Array<{id: string, file: string, original: Buffer}>} */ tampered: [],
  /** Other consumers the campaign put in the group (kafka-commit-refused), until they have ended. */
  /** @type {Set<import('node:child_process').ChildProcess>} */ members: new Set(),
};

/** Puts everything the campaign broke back: services up, disk space freed, tampered files restored. */
async function restoreWorld() {
  if (state.kafkaDown) {
    await service('kafka', 'start');
    state.kafkaDown = false;
  }
  if (state.postgresDown) {
    await service('postgres', 'start');
    state.postgresDown = false;
  }
  if (state.s3Down) {
    await service('s3proxy', 'start');
    state.s3Down = false;
  }
  if (state.filler) {
    await rm(state.filler, { force: true });
    state.filler = undefined;
  }
  for (const t of state.tampered.splice(0)) await state.lake?.write(t.id, t.file, t.original);
  for (const m of state.members) m.kill('SIGKILL');
}

// ---------------------------------------------------------------------------------------------------------------
// The campaign

async function main() {
  const { values: flags } = parseArgs({
    options: {
      store: { type: 'string', default: 'dir' },
      seed: { type: 'string' },
      faults: { type: 'string' },
      short: { type: 'boolean', default: false },
      rate: { type: 'string' },
      keep: { type: 'boolean', default: false },
      kinds: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (flags.help) {
    process.stdout.write(
      'usage: node test/campaign/fault-campaign.mjs [--store dir|s3 (default dir)] [--seed S] ' +
        '[--faults N (default 24; --short: one per kind)] [--short] [--kinds K1,K2 (only these; default all ' +
        'of the store)] [--rate EVENTS_PER_S] [--keep]\n',
    );
    return 0;
  }
  const store = /** @type {StoreKind} */ (flags.store);
  if (!STORES.includes(store)) throw new UsageError(`--store must be one of ${STORES.join(', ')}, not "${store}"`);
  const kinds = flags.kinds ? flags.kinds.split(',').map((k) => k.trim()) : FAULT_KINDS_BY_STORE[store];
  const unknown = kinds.filter((k) => !FAULT_KINDS_BY_STORE[store].includes(k));
  if (unknown.length)
    throw new UsageError(
      `--kinds: ${unknown.join(', ')} not a kind of --store ${store} (${FAULT_KINDS_BY_STORE[store].join(', ')})`,
    );
  const seed = flags.seed ?? randomBytes(4).toString('hex');
  const short = flags.short;
  const faultCount = flags.faults !== undefined ? Number(flags.faults) : short ? kinds.length : 24;
  if (!Number.isInteger(faultCount) || faultCount < 0) throw new UsageError('--faults must be a whole number');
  const rate = flags.rate !== undefined ? Number(flags.rate) : short ? 200 : 250;
  if (!(rate > 0)) throw new UsageError('--rate must be a positive number');
  if (!existsSync(path.join(ROOT, 'dist', 'extract.js'))) throw new UsageError('dist/ is not built: run npm run build');
  const rng = new Rng(seed);

  if (
    !process.env['KAFKA_BOOTSTRAP_SERVERS'] ||
    !process.env['DATABASE_URL'] ||
    (store === 's3' && !process.env['AWS_ENDPOINT_URL_S3'])
  ) {
    say('starting the services (scripts/services up)');
    const { stdout } = await execFileP(path.join(ROOT, 'scripts/services'), ['up'], { timeout: 300_000 });
    Object.assign(process.env, parseExports(stdout));
  }
  process.env['PYENV_VERSION'] ??= 'system';
  const bootstrap = process.env['KAFKA_BOOTSTRAP_SERVERS'];

  // Names of our own: the campaign never touches another test's topics, tables or snapshots.
  const tag = `${seed.replace(/[^A-Za-z0-9]/g, '').slice(0, 12) || 'x'}-${randomBytes(3).toString('hex')}`;
  const arrivalsTopic = `campaign-${tag}-arrivals`;
  const incidentsTopic = `campaign-${tag}-incidents`;
  const group = `campaign-${tag}`;
  const dbSchema = `campaign_${tag.replace(/-/g, '_').toLowerCase()}`;
  const work = await mkdtemp(path.join(os.tmpdir(), 'eventful-campaign-'));
  state.logDir = path.join(work, 'logs');
  await mkdir(state.logDir);
  /** @type {import('@aws-sdk/client-s3').S3Client|undefined} */
  let s3Client;
  if (store === 'dir') {
    state.lakeDir = path.join(work, 'lake');
    await mkdir(state.lakeDir);
    try {
      await execFileP('mount', ['-t', 'tmpfs', '-o', `size=${LAKE_MB}m,mode=0750`, 'tmpfs', state.lakeDir]);
      state.mounted = true;
    } catch (err) {
      say(
        `cannot mount a tmpfs at ${state.lakeDir} (${String(err.message).split('\n')[0]}): the disk-full kind is skipped`,
      );
    }
    state.lake = directoryLake(state.lakeDir);
  } else {
    // The client the package makes for itself (endpoint, path-style addressing, retries) from AWS_*.
    const { createS3Client, s3SettingsFromEnv } = await import(path.join(ROOT, 'dist/snapshot/s3-settings.js'));
    s3Client = createS3Client(s3SettingsFromEnv(process.env));
    state.lake = s3Lake(s3Client, process.env['EVENTFUL_S3_BUCKET'] ?? 'eventful-test', `campaign-${tag}/`);
  }
  const lake = state.lake;
  const schemasDir = path.join(work, 'schemas');
  await mkdir(schemasDir);
  for (const [file, topic] of [
    ['train_arrival.schema.json', arrivalsTopic],
    ['incident.schema.json', incidentsTopic],
  ]) {
    const schema = JSON.parse(await readFile(path.join(ROOT, 'schemas', file), 'utf8'));
    schema['x-warehouse'].topics = [topic];
    await writeFile(path.join(schemasDir, file), JSON.stringify(schema, null, 2));
  }
  say(
    `store ${store} (${lake.location}), seed "${seed}", ${faultCount} faults${short ? ' (short)' : ''}; ` +
      `topics ${arrivalsTopic}, ${incidentsTopic}; group ${group}; db schema ${dbSchema}; work ${work}` +
      `${state.mounted ? ` (lake: ${LAKE_MB} MB tmpfs)` : ''}`,
  );

  const report = {
    store,
    location: lake.location,
    kinds,
    seed,
    short,
    work,
    topics: [arrivalsTopic, incidentsTopic],
    group,
    dbSchema,
    /** @type {any[]} */ faults: [],
    /** @type {Record<string, {injected: number, landed: number, variants: Record<string, number>}>} */ byKind: {},
    /** @type {string[]} */ skippedKinds: [],
    /** @type {string[]} */ violations: [],
    runs: { extract: 0, load: 0, simulate: 0, simulateFailed: 0 },
  };
  const violation = (m) => {
    report.violations.push(m);
    say(`VIOLATION: ${m}`);
  };

  // --- the producer -------------------------------------------------------------------------------------------
  const simStart = Date.parse('2026-11-27T05:00:00Z');
  let simCursor = simStart;
  const simArgs = (startMs, minutes, r) => [
    ...['--bootstrap-servers', bootstrap, '--seed', `campaign-${seed}`, '--start', new Date(startMs).toISOString()],
    ...['--duration', `${minutes}m`, '--rate', String(r), '--incidents-per-day', '300'],
    ...['--arrivals-topic', arrivalsTopic, '--incidents-topic', incidentsTopic],
  ];
  // A first burst creates the 6-partition topics.
  const first = await startCommand('simulate', [...simArgs(simCursor, 30, 0), '--create-topics', '--partitions', '6'])
    .done;
  report.runs.simulate += 1;
  if (first.code !== 0) throw new Error(`the first simulate run failed (exit ${first.code}):\n${first.stderr}`);
  simCursor += 30 * 60_000;
  const producer = { running: true, /** @type {Proc|undefined} */ current: undefined };
  const producing = (async () => {
    while (producer.running) {
      const p = startCommand('simulate', simArgs(simCursor, 60, rate), { timeoutMs: 3_600_000 });
      producer.current = p;
      const r = await p.done;
      producer.current = undefined;
      report.runs.simulate += 1;
      simCursor += 60 * 60_000;
      if (r.code !== 0 && producer.running) {
        report.runs.simulateFailed += 1;
        await sleep(1000);
      }
    }
  })();

  /**
   * A backlog: `hours` of simulated traffic produced as fast as possible (seed and timeline of their own, so
   * event ids never repeat the background producer's), so that the next drain or load lasts long enough for a
   * fault to land inside it.
   */
  let burstCursor = Date.parse('2027-01-04T05:00:00Z');
  const burst = async (hours) => {
    const r = await startCommand('simulate', [
      ...[
        '--bootstrap-servers',
        bootstrap,
        '--seed',
        `campaign-${seed}-burst`,
        '--start',
        new Date(burstCursor).toISOString(),
      ],
      ...['--duration', `${hours}h`, '--rate', '0', '--incidents-per-day', '300'],
      ...['--arrivals-topic', arrivalsTopic, '--incidents-topic', incidentsTopic],
    ]).done;
    burstCursor += hours * 3_600_000;
    report.runs.simulate += 1;
    if (r.code !== 0) report.runs.simulateFailed += 1;
    return r.summary?.events ?? 0;
  };

  // --- commands -----------------------------------------------------------------------------------------------
  /** Snapshot ids → how the run that wrote them ended. */
  /** @type {Map<string, {attempt: number, committed: boolean, how: string}>} */
  const snapshotOrigin = new Map();
  const listSnapshots = () => lake.complete();
  let extractSeq = 0;
  /** Clean drains smaller than this are not timed: their fixed costs make them look slower per message. */
  const PACE_MIN_MESSAGES = 5000;
  /**
   * The fastest clean drain, per message (from "draining" to exit), so that a fault timed after draining began
   * aims inside the drain on a machine of any speed, rather than after it.
   * @type {{msPerMessage?: number}}
   */
  const drainPace = {};
  /**
   * A moment within the first 80% of the expected drain of a backlog of `messages` (500 ms before any drain was
   * measured), less `spareMs` the fault needs to take hold; and that expected drain.
   */
  const drainDelay = (messages, spareMs = 0) => {
    const expectedMs = Math.round(drainPace.msPerMessage ? messages * drainPace.msPerMessage : 500);
    return { delay: Math.round(rng.next() * Math.max(0, 0.8 * expectedMs - spareMs)), expectedMs };
  };
  /** The flags of an extract run; `extra` flags replace the defaults of the same name. */
  const extractArgs = (extra = []) => {
    const defaults = {
      '--stall-timeout': '60s',
      '--connect-timeout': '30s',
      '--progress-interval': '1s',
      '--batch-size': String(rng.pick([50, 200, 1000])),
      '--decode-threads': String(rng.pick([0, 1, 2])),
    };
    for (let i = 0; i < extra.length; i += 2) delete defaults[extra[i]];
    return [
      ...['--bootstrap-servers', bootstrap, '--topics', `${arrivalsTopic},${incidentsTopic}`, '--group-id', group],
      ...['--out', lake.location, '--schemas', schemasDir, '--run-id', `campaign-${++extractSeq}`],
      ...Object.entries(defaults).flat(),
      ...extra,
    ];
  };
  /**
   * Runs one extract, optionally with a fault, and records which snapshots it published and whether it committed.
   * @param {{env?: Record<string,string>, during?: (p: Proc) => Promise<void>, how?: string, args?: string[]}} [o]
   */
  const extract = async (o = {}) => {
    const before = new Set(await listSnapshots());
    const p = startCommand('extract', extractArgs(o.args), o.env ? { env: o.env } : {});
    const during = o.during ? o.during(p) : Promise.resolve();
    const drainStarted = p.waitFor(/draining \d/).then((seen) => (seen ? Date.now() : undefined));
    const r = await p.done;
    await during;
    report.runs.extract += 1;
    const drainFrom = await drainStarted;
    if (
      !o.during &&
      !o.env &&
      r.code === 0 &&
      drainFrom !== undefined &&
      (r.summary?.counts?.messages ?? 0) >= PACE_MIN_MESSAGES
    ) {
      const msPerMessage = (Date.now() - drainFrom) / r.summary.counts.messages;
      drainPace.msPerMessage = Math.min(drainPace.msPerMessage ?? msPerMessage, msPerMessage);
    }
    const fresh = (await listSnapshots()).filter((id) => !before.has(id));
    const committed =
      (r.code === 0 && r.summary?.committed === true) || /committed offsets of \d+ partitions/.test(r.stderr);
    for (const id of fresh)
      snapshotOrigin.set(id, {
        attempt: extractSeq,
        committed,
        how: o.how ?? (r.code === 0 ? 'clean' : `exit ${r.code}`),
      });
    if (r.timedOut) violation(`extract #${extractSeq} hung for ${COMMAND_TIMEOUT_MS / 1000}s and was killed`);
    if (r.signal === null && ![0, 1, 99].includes(r.code ?? -1))
      violation(`extract #${extractSeq} exited ${r.code}: ${lastError(r)}`);
    if (r.signal === null && !r.summary) violation(`extract #${extractSeq} printed no JSON summary (exit ${r.code})`);
    if (r.code === 1 && !/ ERROR /.test(r.stderr)) violation(`extract #${extractSeq} failed without an error message`);
    return { r, fresh };
  };
  const loadArgs = () => [
    ...['--snapshots', lake.location, '--schemas', schemasDir, '--db-schema', dbSchema, '--progress-seconds', '1'],
    ...['--batch-size', String(rng.pick([500, 5000, 50000]))],
  ];
  /** @param {{env?: Record<string,string>, during?: (p: Proc) => Promise<void>}} [o] */
  const load = async (o = {}) => {
    const p = startCommand('load', [...loadArgs(), ...(o.args ?? [])], o.env ? { env: o.env } : {});
    const during = o.during ? o.during(p) : Promise.resolve();
    const r = await p.done;
    await during;
    report.runs.load += 1;
    if (r.timedOut) violation(`a load hung for ${COMMAND_TIMEOUT_MS / 1000}s and was killed`);
    if (r.signal === null && ![0, 1, 99].includes(r.code ?? -1)) violation(`load exited ${r.code}: ${lastError(r)}`);
    if (r.signal === null && !r.summary) violation(`load printed no JSON summary (exit ${r.code})`);
    return r;
  };

  /** The campaign's own warehouse connection (replaced after a Postgres restart). */
  const newClient = async () => {
    const c = new pg.Client({ connectionString: process.env['DATABASE_URL'] });
    // A Postgres restart ends idle connections with an 'error' event: without a listener it would end the campaign.
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };
  let db = await newClient();
  const reconnectDb = async () => {
    await db.end().catch(() => undefined);
    db = await newClient();
  };
  /** Row counts of the ledger and the event tables (0 before the first load created them). */
  const warehouseCounts = async () => {
    const out = {};
    for (const t of ['eventful_load_ledger', 'train_arrivals', 'incident_events', 'incidents']) {
      const { rows } = await db.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [`"${dbSchema}"."${t}"`]);
      out[t] = rows[0].e ? Number((await db.query(`SELECT count(*) AS n FROM "${dbSchema}"."${t}"`)).rows[0].n) : 0;
    }
    return out;
  };
  const ledgerIds = async () => {
    const { rows } = await db.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [`"${dbSchema}".eventful_load_ledger`]);
    if (!rows[0].e) return new Set();
    return new Set(
      (await db.query(`SELECT snapshot_id FROM "${dbSchema}".eventful_load_ledger`)).rows.map((r) => r.snapshot_id),
    );
  };

  /** Kills `p` with SIGKILL `delayMs` after stderr matched `re`; says where it landed. */
  const killAfter = async (p, re, delayMs, stageOf = extractStage) => {
    const seen = await p.waitFor(re);
    if (!seen) return { landed: false, stage: 'exited before the trigger' };
    await sleep(delayMs);
    if (!p.alive()) return { landed: false, stage: 'exited before the kill' };
    const stage = stageOf(p.stderrSoFar());
    p.child.kill('SIGKILL');
    // A kill after extract committed can no longer change anything: it missed.
    return { landed: stage !== 'after commit', stage };
  };

  /** Variants of a kind are dealt from a shuffled deck, so that repeats of a kind cover all of its variants. */
  /** @type {Record<string, string[]>} */
  const decks = {};
  const nextVariant = (kind, variants) => {
    if (!decks[kind]?.length) decks[kind] = rng.shuffle(variants);
    return decks[kind].pop();
  };

  // --- the faults ---------------------------------------------------------------------------------------------
  /** @type {Record<FaultKind, () => Promise<any>>} */
  const inject = {
    'extract-crash-hook': async () => {
      const point = nextVariant('extract-crash-hook', EXTRACT_HOOKS);
      await burst(1);
      const { r, fresh } = await extract({ env: { EVENTFUL_TEST_CRASH_AT: point }, how: `crash-hook ${point}` });
      const landed = r.signal === 'SIGKILL';
      if (landed) {
        const published = point === 'after-publish' || point === 'after-commit';
        if (!published && fresh.length) violation(`extract killed ${point} left a complete snapshot ${fresh[0]}`);
        if (published && fresh.length !== 1) violation(`extract killed ${point} left ${fresh.length} snapshots, not 1`);
        if (point === 'after-commit') for (const id of fresh) snapshotOrigin.get(id).committed = true;
      }
      return { variant: point, class: point, landed, outcome: outcome(r), snapshots: fresh.length };
    },
    'extract-sigkill': async () => {
      const { delay, expectedMs } = drainDelay(await burst(rng.int(6, 14)));
      let where;
      const { r, fresh } = await extract({
        how: 'sigkill',
        during: async (p) => {
          where = await killAfter(p, /draining \d/, delay);
        },
      });
      return {
        variant: `+${delay}ms after draining began (of ~${expectedMs}ms)`,
        class: `killed ${where.stage}`,
        landed: where.landed,
        stage: where.stage,
        outcome: outcome(r),
        snapshots: fresh.length,
      };
    },
    'load-crash-hook': async () => {
      const point = nextVariant('load-crash-hook', LOAD_HOOKS);
      await burst(1);
      for (let i = rng.int(1, 2); i > 0; i--) await extract();
      const before = await warehouseCounts();
      const r = await load({ env: { EVENTFUL_TEST_CRASH_AT: point } });
      const landed = r.signal === 'SIGKILL';
      const after = await warehouseCounts();
      // Snapshots committed before the killed one stay; the killed one leaves nothing. Only what the ledger
      // gained may have been written.
      if (landed && after.eventful_load_ledger === before.eventful_load_ledger)
        for (const t of Object.keys(before))
          if (after[t] !== before[t])
            violation(`load killed ${point}: ${t} changed ${before[t]} → ${after[t]} without a ledger row`);
      return { variant: point, class: point, landed, outcome: outcome(r) };
    },
    'load-sigkill': async () => {
      const delay = rng.int(0, 300);
      await burst(rng.int(12, 24));
      for (let i = rng.int(1, 3); i > 0; i--) await extract();
      const before = await warehouseCounts();
      let where;
      const r = await load({
        during: async (p) => {
          where = await killAfter(p, /snapshot\(s\) to load/, delay, loadStage);
        },
      });
      const after = await warehouseCounts();
      if (where.landed && after.eventful_load_ledger === before.eventful_load_ledger)
        for (const t of Object.keys(before))
          if (after[t] !== before[t])
            violation(`load killed: ${t} changed ${before[t]} → ${after[t]} without a ledger row`);
      const stage = loadStage(r.stderr);
      return {
        variant: `+${delay}ms after listing`,
        class: `killed ${stage}`,
        landed: where.landed,
        stage,
        outcome: outcome(r),
      };
    },
    'kafka-restart': async () => {
      // brief: the drain waits for the broker; long: down for longer than that extract's --stall-timeout.
      const variant = nextVariant('kafka-restart', KAFKA_OUTAGES);
      const downMs = variant === 'brief' ? rng.int(1000, 5000) : rng.int(9000, 12000);
      // The broker's stop takes a few hundred ms to close its connections.
      const { delay, expectedMs } = drainDelay(await burst(rng.int(24, 48)), 300);
      let landed = false;
      let stage = '';
      let stopMs = 0;
      let startMs = 0;
      const { r, fresh } = await extract({
        how: 'kafka-restart',
        args: variant === 'long' ? ['--stall-timeout', '4s'] : [],
        during: async (p) => {
          if (!(await p.waitFor(/draining \d/))) return;
          await sleep(delay);
          if (!p.alive()) return;
          stage = extractStage(p.stderrSoFar());
          state.kafkaDown = true;
          stopMs = await service('kafka', 'stop');
          // Landed when the broker was gone while the drain still ran.
          landed = p.alive() || !/committed offsets of/.test(p.stderrSoFar());
          await sleep(downMs);
          startMs = await service('kafka', 'start');
          state.kafkaDown = false;
        },
      });
      return {
        variant: `${variant}: stop +${delay}ms after draining began (of ~${expectedMs}ms), down ${downMs}ms`,
        class: `${variant}, extract ${outcome(r)}`,
        landed,
        stage,
        outcome: outcome(r),
        snapshots: fresh.length,
        message: r.code ? lastError(r) : undefined,
        stopMs,
        startMs,
      };
    },
    'kafka-commit-restart': async () => {
      const resume = nextVariant('kafka-commit-restart', COMMIT_RESUMES);
      const downMs = rng.int(500, 2000);
      await burst(rng.int(12, 24));
      let stopMs = 0;
      let startMs = 0;
      let frozen = false;
      const { r, fresh } = await extract({
        how: 'kafka-commit-restart',
        env: { EVENTFUL_TEST_STOP_AT: 'after-publish' },
        during: async (p) => {
          // Published, not yet committed: the broker goes away now, and comes back while extract tries to commit.
          if (!(frozen = await stopped(p.child.pid))) return;
          state.kafkaDown = true;
          stopMs = await service('kafka', 'stop');
          // while-down: its first commit meets no broker at all; port-open: a group coordinator still loading.
          if (resume === 'while-down') p.child.kill('SIGCONT');
          await sleep(downMs);
          const starting = service('kafka', 'start');
          if (resume === 'port-open') {
            await portOpen(process.env['KAFKA_BOOTSTRAP_SERVERS'] ?? '', 60_000);
            p.child.kill('SIGCONT');
          }
          startMs = await starting;
          state.kafkaDown = false;
        },
      });
      const retried = /trying again in \d+ ms/.test(r.stderr);
      // Landed when the broker restarted between publish and commit; extract must still commit in the same run.
      // Resumed while the broker is down, the client's synchronous commit waits for it to come back; resumed as
      // the port opens, the first try may meet a group coordinator still loading and be tried again: timing, which
      // the class names (unit tests cover the retry itself).
      const landed = frozen;
      if (landed && (r.code !== 0 || !/committed offsets of \d+ partitions/.test(r.stderr)))
        violation(`extract met a broker restart before its commit, but did not commit: ${lastError(r)}`);
      return {
        variant: `broker stopped before the commit, down ${downMs}ms, extract resumed ${resume}`,
        class: `${resume}: commit ${retried ? 'retried' : 'not retried'}, extract ${outcome(r)}`,
        landed,
        stage: 'commit',
        outcome: outcome(r),
        snapshots: fresh.length,
        message: r.code ? lastError(r) : undefined,
        stopMs,
        startMs,
      };
    },
    'kafka-commit-refused': async () => {
      const holdMs = rng.int(800, 2500);
      await burst(rng.int(12, 24));
      let joined = false;
      const { r, fresh } = await extract({
        how: 'kafka-commit-refused',
        env: { EVENTFUL_TEST_STOP_AT: 'after-publish' },
        during: async (p) => {
          // Published, not yet committed: another consumer joins the group (and commits nothing) meanwhile.
          if (!(await stopped(p.child.pid))) return;
          const member = startGroupMember(bootstrap, group, [arrivalsTopic, incidentsTopic]);
          try {
            joined = await member.joined;
          } finally {
            p.child.kill('SIGCONT');
          }
          await sleep(holdMs);
          await member.leave();
        },
      });
      const refusals = (r.stderr.match(/Unknown member|Illegal generation|Rebalance in progress/gi) ?? []).length;
      // Landed when the member had joined before extract tried: the broker refuses the first try, and extract must
      // try again and commit once the member has left, in the same run.
      if (joined && (r.code !== 0 || !/committed offsets of \d+ partitions/.test(r.stderr)))
        violation(
          `extract met a commit refused while another consumer was in the group, and did not commit: ${lastError(r)}`,
        );
      if (joined && refusals === 0)
        violation("another consumer was in the group, yet the broker refused none of extract's commits");
      if (refusals > 0 && !/another consumer is a member of group/.test(r.stderr))
        violation("extract's warning of a refused commit does not say that another consumer is in the group");
      return {
        variant: `another member in the group for ${holdMs}ms after extract resumed`,
        class: `commit refused ${refusals}x, then extract ${outcome(r)}`,
        landed: joined,
        stage: 'commit',
        outcome: outcome(r),
        snapshots: fresh.length,
        message: r.code ? lastError(r) : undefined,
      };
    },
    'postgres-restart': async () => {
      const delay = rng.int(0, 150);
      await burst(rng.int(18, 30));
      for (let i = rng.int(1, 3); i > 0; i--) await extract();
      let landed = false;
      let stage = '';
      const r = await load({
        during: async (p) => {
          if (!(await p.waitFor(/snapshot\(s\) to load/))) return;
          await sleep(delay);
          if (!p.alive()) return;
          stage = loadStage(p.stderrSoFar());
          state.postgresDown = true;
          await service('postgres', 'stop');
          // Landed when the database went away while the load still ran (it then fails, and retries later).
          landed = p.alive() || p.child.exitCode !== 0;
          await sleep(rng.int(200, 1500));
          await service('postgres', 'start');
          state.postgresDown = false;
        },
      });
      await reconnectDb();
      if (landed && r.code === 0 && !/loaded snapshot/.test(r.stderr))
        violation('load said it succeeded across a Postgres restart without loading anything');
      return {
        variant: `stop +${delay}ms after listing`,
        class: `load ${outcome(r)}`,
        landed,
        stage,
        outcome: outcome(r),
        message: r.code ? lastError(r) : undefined,
      };
    },
    'disk-full': async () => {
      if (!state.mounted) return undefined;
      const leaveKb = rng.int(8, 160);
      await burst(rng.int(1, 3));
      const fs = await statfs(state.lakeDir);
      const free = fs.bavail * fs.bsize;
      const tempsBefore = (await lake.leftovers()).length;
      state.filler = path.join(state.lakeDir, '.filler');
      await execFileP('fallocate', ['-l', String(Math.max(0, free - leaveKb * 1024)), state.filler]);
      const { r, fresh } = await extract({ how: 'disk-full' });
      await rm(state.filler, { force: true });
      state.filler = undefined;
      const landed = r.code === 1;
      if (landed && fresh.length) violation(`extract failed on a full disk but left a complete snapshot ${fresh[0]}`);
      if (landed && !/ENOSPC|no space/i.test(r.stderr))
        violation(`extract failed on a full disk without saying so: ${lastError(r)}`);
      const leftovers = (await lake.leftovers()).length - tempsBefore;
      if (leftovers > 0) violation(`extract failed on a full disk and left its temporary folder behind`);
      return {
        variant: `${leaveKb} KB left`,
        class: `extract ${outcome(r)}`,
        landed,
        outcome: outcome(r),
        message: lastError(r),
        leftovers,
      };
    },
    's3-restart': async () => {
      const variant = nextVariant('s3-restart', S3_OUTAGES);
      const onExtract = variant === 'during-extract';
      const minDownMs = rng.int(1000, 5000);
      let stopped = false;
      let stage = '';
      let stopMs = 0;
      let startMs = 0;
      let downMs = 0;
      /** Stops s3proxy `delay` ms after `trigger`; restarts it once the run ended (and at least minDownMs later). */
      const outage = (trigger, stageOf) => async (p) => {
        if (!(await p.waitFor(trigger))) return;
        await sleep(delay);
        if (!p.alive()) return;
        stage = stageOf(p.stderrSoFar());
        state.s3Down = true;
        stopMs = await service('s3proxy', 'stop');
        stopped = true;
        const down = Date.now();
        await sleep(minDownMs);
        // Kept down while the run lasts (bounded: a run that hangs on it is killed after COMMAND_TIMEOUT_MS).
        await Promise.race([p.done, sleep(COMMAND_TIMEOUT_MS)]);
        downMs = Date.now() - down;
        startMs = await service('s3proxy', 'start');
        state.s3Down = false;
      };
      let r;
      let fresh = [];
      let landed = false;
      let delay = 0;
      if (onExtract) {
        ({ delay } = drainDelay(await burst(rng.int(6, 14))));
        ({ r, fresh } = await extract({ how: 's3-restart', during: outage(/draining \d/, extractStage) }));
        // Landed when the store went away before the snapshot was published: the run cannot finish then.
        landed = stopped && !/published snapshot/.test(r.stderr);
        if (landed) {
          const committed = r.summary?.committed === true || /committed offsets of/.test(r.stderr);
          if (r.code !== 1) violation(`extract without its S3 store ended ${outcome(r)}, not exit 1`);
          if (committed) violation('extract committed offsets while its S3 store was down before publishing');
          if (fresh.length) violation(`extract without its S3 store left a complete snapshot ${fresh[0]}`);
        }
      } else {
        delay = rng.int(0, 300);
        await burst(rng.int(12, 24));
        for (let i = rng.int(1, 3); i > 0; i--) await extract();
        const before = await warehouseCounts();
        r = await load({ during: outage(/snapshot\(s\) to load/, loadStage) });
        // Landed when the load still needed the store: it fails (a load past its last read may finish).
        landed = stopped && r.code === 1;
        const after = await warehouseCounts();
        if (landed && after.eventful_load_ledger === before.eventful_load_ledger)
          for (const t of Object.keys(before))
            if (after[t] !== before[t])
              violation(`load without its S3 store: ${t} changed ${before[t]} → ${after[t]} without a ledger row`);
      }
      if (/^\s+at /m.test(r.stderr))
        violation(`${onExtract ? 'extract' : 'load'} without its S3 store printed a stack trace`);
      // The store is back: the next runs must succeed and catch up.
      if (stopped) {
        const e = await extract();
        const l = await load();
        if (![0, 99].includes(e.r.code ?? -1))
          violation(`the first extract after s3proxy came back ended ${outcome(e.r)}: ${lastError(e.r)}`);
        if (![0, 99].includes(l.code ?? -1))
          violation(`the first load after s3proxy came back ended ${outcome(l)}: ${lastError(l)}`);
      }
      return {
        variant: `${variant}: stop +${delay}ms after ${onExtract ? 'draining began' : 'listing'}, down ≥${minDownMs}ms`,
        class: `${variant}, ${onExtract ? 'extract' : 'load'} ${outcome(r)}`,
        landed,
        stage,
        outcome: outcome(r),
        snapshots: onExtract ? fresh.length : undefined,
        message: r.code ? lastError(r) : undefined,
        stopMs,
        downMs,
        startMs,
      };
    },
    'snapshot-tamper': async () => {
      const how = nextVariant('snapshot-tamper', TAMPERS);
      let target;
      if (how === 'alter-loaded-manifest') {
        await extract();
        await load();
        const loaded = [...(await ledgerIds())].sort();
        target = rng.pick(loaded);
      } else {
        await burst(1);
        const { fresh } = await extract();
        target = fresh[0];
      }
      if (!target) return { variant: how, class: how, landed: false, outcome: 'no snapshot to tamper with' };
      // The events file is where the manifest says (S3: in the attempt's folder).
      const file = how.endsWith('manifest')
        ? 'manifest.json'
        : storedPath((await lake.manifestText(target)) ?? '{}', 'events.ndjson');
      const original = await lake.read(target, file);
      state.tampered.push({ id: target, file, original });
      const bytes = Buffer.from(original);
      let tampered;
      if (how === 'truncate-events' || how === 'truncate-manifest')
        tampered = bytes.subarray(0, rng.int(0, Math.max(0, bytes.length - 1)));
      else if (how === 'flip-byte-events') {
        const at = rng.int(0, bytes.length - 1);
        bytes[at] = bytes[at] === 0x31 ? 0x32 : 0x31;
        tampered = bytes;
      } else if (how === 'append-line-events') {
        const lines = bytes.toString('utf8').split('\n').filter(Boolean);
        tampered = Buffer.concat([bytes, Buffer.from(rng.pick(lines) + '\n')]);
      } else {
        // Re-indented: the same content, another manifest hash.
        tampered = Buffer.from(JSON.stringify(JSON.parse(bytes.toString('utf8'))) + '\n');
      }
      await lake.write(target, file, tampered);
      if (how === 'alter-loaded-manifest') {
        // A loaded snapshot is not read again: the plain load must not notice, the audit must.
        const plain = await load();
        if (plain.summary?.results?.some((x) => x.snapshotId === target))
          violation(`a load read the altered manifest of loaded snapshot ${target}: exit ${plain.code}`);
      }
      const r = await load(how === 'alter-loaded-manifest' ? { args: ['--verify-loaded'] } : {});
      const result = r.summary?.results?.find((x) => x.snapshotId === target);
      const code = result?.error?.code;
      const refused = r.code === 1 && result?.status === 'Error' && REFUSAL_CODES.includes(code);
      if (!refused)
        violation(`load did not refuse snapshot ${target} after ${how}: exit ${r.code}, ${JSON.stringify(result)}`);
      const ledger = await ledgerIds();
      if (how !== 'alter-loaded-manifest' && ledger.has(target))
        violation(`tampered snapshot ${target} is in the ledger`);
      // The operator restores the original from a copy.
      for (const t of state.tampered.splice(0)) await lake.write(t.id, t.file, t.original);
      return {
        variant: how,
        class: `${how}: ${code}`,
        landed: refused,
        outcome: outcome(r),
        refusal: code,
        snapshot: target,
      };
    },
  };

  /** (S3) Kills an extract while its multipart upload is in flight; up to MAX_ATTEMPTS tries. */
  const killMidUpload = async () => {
    for (let attempt = 1; ; attempt++) {
      const before = new Set(await lake.uploadsInFlight());
      // Some 2,000 events of ~400 bytes an hour: the events file outgrows one 5 MiB part.
      await burst(rng.int(16, 22) * attempt);
      let stage = '';
      const { r, fresh } = await extract({
        how: 'killed mid-upload',
        during: async (p) => {
          if (!(await p.waitFor(/draining \d/))) return;
          while (p.alive()) {
            if ((await lake.uploadsInFlight()).some((k) => !before.has(k))) {
              stage = extractStage(p.stderrSoFar());
              p.child.kill('SIGKILL');
              return;
            }
            await sleep(25);
          }
        },
      });
      const landed = r.signal === 'SIGKILL' && stage !== 'after publish' && stage !== 'after commit';
      const uploads = (await lake.uploadsInFlight()).filter((k) => !before.has(k)).length;
      say(
        `extract killed mid-upload (try ${attempt}): ${landed ? 'landed' : 'MISSED'}${stage ? ` at ${stage}` : ''}; ${outcome(r)}, ${uploads} upload(s) left`,
      );
      if (landed && fresh.length) violation(`extract killed mid-upload left a complete snapshot ${fresh[0]}`);
      if (landed || attempt >= MAX_ATTEMPTS)
        return { landed, attempt, stage, outcome: outcome(r), uploadsLeft: uploads };
    }
  };

  // --- the schedule -------------------------------------------------------------------------------------------
  const mustCover = kinds.filter((k) => k !== 'disk-full' || state.mounted);
  if (store === 'dir' && !state.mounted) report.skippedKinds.push('disk-full');
  // Every kind at least once; then (with enough faults) every variant of the kinds that have several (the decks
  // deal them), two of each other kind, and the rest at random; all in a random order.
  const wanted = [...mustCover];
  const repeats = {
    'extract-crash-hook': EXTRACT_HOOKS.length,
    'load-crash-hook': LOAD_HOOKS.length,
    'snapshot-tamper': TAMPERS.length,
    'kafka-restart': KAFKA_OUTAGES.length,
    'kafka-commit-restart': COMMIT_RESUMES.length,
    's3-restart': S3_OUTAGES.length,
  };
  for (const k of mustCover) for (let n = repeats[k] ?? 2; n > 1; n--) wanted.push(k);
  const chosen = [...rng.shuffle(mustCover), ...rng.shuffle(wanted.slice(mustCover.length))].slice(0, faultCount);
  while (chosen.length < faultCount) chosen.push(rng.pick(mustCover));
  /** @type {FaultKind[]} */
  const schedule = rng.shuffle(chosen);

  let exitCode = 0;
  try {
    await extract();
    await load();
    for (const [i, kind] of schedule.entries()) {
      for (let c = rng.int(0, short ? 0 : 2); c > 0; c--) {
        await extract();
        if (rng.next() < 0.7) await load();
      }
      // A fault that missed its moment (the drain or load was over first) is tried again, up to 3 times.
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        let rec;
        try {
          rec = await inject[kind]();
        } finally {
          await restoreWorld();
        }
        if (!rec) break;
        rec = { kind, attempt, ...rec };
        report.faults.push(rec);
        const k = (report.byKind[kind] ??= { injected: 0, landed: 0, variants: {} });
        k.injected += 1;
        if (rec.landed) k.landed += 1;
        if (rec.landed) k.variants[rec.class] = (k.variants[rec.class] ?? 0) + 1;
        say(
          `fault ${i + 1}/${schedule.length} ${kind} (${rec.variant}): ${rec.landed ? 'landed' : 'MISSED'}` +
            `${rec.stage ? ` at ${rec.stage}` : ''}; ${rec.outcome}${rec.refusal ? ` (${rec.refusal})` : ''}`,
        );
        if (rec.landed) break;
      }
      // Sometimes the pipeline recovers right away, sometimes only after more faults.
      if (rng.next() < 0.5) {
        await extract();
        await load();
      }
    }

    // A killed upload: with S3, an extract killed while its multipart upload is in flight (the faults' kills
    // mostly land before a small snapshot's single PUT), so that prune has such leftovers to find.
    if (store === 's3') report.killedUpload = await killMidUpload();

    // --- catch up -------------------------------------------------------------------------------------------
    say('stopping the producer; catching up with clean runs');
    producer.running = false;
    producer.current?.child.kill('SIGTERM');
    await producing;
    let caughtUp = false;
    for (let round = 0; round < 12 && !caughtUp; round++) {
      const e = await extract();
      const l = await load();
      caughtUp = e.r.code === 99 && l.code === 99;
      if (!caughtUp && e.r.code !== 0 && e.r.code !== 99) say(`catch-up extract exited ${e.r.code}: ${lastError(e.r)}`);
      if (!caughtUp && l.code !== 0 && l.code !== 99) say(`catch-up load exited ${l.code}: ${lastError(l)}`);
    }
    if (!caughtUp) violation('the pipeline did not catch up within 12 clean extract + load rounds');

    // --- compare --------------------------------------------------------------------------------------------
    const figures = await verify({
      db,
      dbSchema,
      bootstrap,
      arrivalsTopic,
      incidentsTopic,
      snapshotOrigin,
      lake,
      violation,
    });
    Object.assign(report, figures);

    // --- prune ----------------------------------------------------------------------------------------------
    report.prune = await checkPrune({ lake, violation, load });
  } catch (err) {
    violation(`the campaign itself failed: ${err?.stack ?? err}`);
  } finally {
    producer.running = false;
    producer.current?.child.kill('SIGTERM');
    await producing.catch(() => undefined);
    await restoreWorld().catch((err) => violation(`could not restore the services: ${err.message}`));
    await db.end().catch(() => undefined);
  }

  report.durationS = Math.round((Date.now() - t0) / 1000);
  report.faultsInjected = report.faults.length;
  report.faultsLanded = report.faults.filter((f) => f.landed).length;
  const missingKinds = mustCover.filter((k) => !report.byKind[k]?.landed);
  report.kindsNotLanded = missingKinds;
  report.ok =
    report.violations.length === 0 &&
    report.lost === 0 &&
    report.duplicated === 0 &&
    report.extra === 0 &&
    report.incidentStates?.mismatches === 0;
  printTable(report);
  process.stdout.write(JSON.stringify(report) + '\n');
  if (!report.ok) exitCode = 1;

  if (report.ok && !flags.keep) {
    if (state.mounted) await execFileP('umount', [state.lakeDir]).catch(() => undefined);
    await lake.dispose().catch((err) => say(`could not delete ${lake.location}: ${err.message}`));
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
    const c = new pg.Client({ connectionString: process.env['DATABASE_URL'] });
    await c.connect();
    await c.query(`DROP SCHEMA "${dbSchema}" CASCADE`).catch(() => undefined);
    await c.end();
    await deleteTopics(bootstrap, [arrivalsTopic, incidentsTopic]).catch((err) =>
      say(`could not delete the topics: ${err.message}`),
    );
  } else {
    say(
      `kept for inspection: ${work} (logs in ${state.logDir}), db schema ${dbSchema}` +
        (state.mounted ? `; umount ${state.lakeDir} when done` : '') +
        (store === 's3' ? `; snapshots in ${lake.location}` : ''),
    );
  }
  s3Client?.destroy();
  return exitCode;
}

/** Deletes topics with python3-confluent-kafka's admin client (a campaign fills them with some 100 MB). */
async function deleteTopics(bootstrap, topics) {
  const script = `
import sys
from confluent_kafka.admin import AdminClient
a = AdminClient({'bootstrap.servers': sys.argv[1]})
for f in a.delete_topics(sys.argv[2:], operation_timeout=60).values():
    f.result()
`;
  await execFileP('/usr/bin/python3', ['-c', script, bootstrap, ...topics], { timeout: 90_000 });
}

/** Where an extract was, from its log. */
function extractStage(stderr) {
  if (/committed offsets of/.test(stderr)) return 'after commit';
  if (/published snapshot/.test(stderr)) return 'after publish';
  if (/draining \d/.test(stderr)) return 'draining';
  return 'connecting';
}

/** Where a load was, from its log. */
function loadStage(stderr) {
  const n = (stderr.match(/ loaded snapshot /g) ?? []).length;
  return n === 0 ? 'in its first snapshot' : 'in a later snapshot';
}

function outcome(r) {
  return r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
}

function lastError(r) {
  const errs = r.stderr.split('\n').filter((l) => / ERROR /.test(l));
  return (errs[errs.length - 1] ?? r.stderr.trim().split('\n').pop() ?? '')
    .replace(/^\S+ \S+ ERROR /, '')
    .slice(0, 300);
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Verification

/** Every message of a topic as an independent consumer (kcat) reads it: partition, offset, parsed value. */
async function readTopic(bootstrap, topic) {
  const { stdout } = await execFileP(
    'kcat',
    ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p\t%o\t%s\n'],
    { maxBuffer: 1 << 30, timeout: 120_000 },
  );
  const out = [];
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const [p, o, ...rest] = line.split('\t');
    let value;
    try {
      value = JSON.parse(rest.join('\t'));
    } catch {
      value = undefined;
    }
    out.push({ topic, partition: Number(p), offset: Number(o), value });
  }
  return out;
}

/** Negative when `a` is older than `b` in the state order (event time, then topic bytes, partition, offset). */
function stateOrder(a, b) {
  const ta = Date.parse(a.value.occurred_at);
  const tb = Date.parse(b.value.occurred_at);
  if (ta !== tb) return ta - tb;
  return Buffer.compare(Buffer.from(a.topic), Buffer.from(b.topic)) || a.partition - b.partition || a.offset - b.offset;
}

async function verify({ db, dbSchema, bootstrap, arrivalsTopic, incidentsTopic, snapshotOrigin, lake, violation }) {
  say('reading the topics with kcat and the warehouse with SQL');
  const produced = [...(await readTopic(bootstrap, arrivalsTopic)), ...(await readTopic(bootstrap, incidentsTopic))];
  const coordKey = (t, p, o) => `${t}\u0000${p}\u0000${o}`;
  /** event id → its coordinates in Kafka (more than one if a producer wrote it twice) */
  const producedIds = new Map();
  let unparsable = 0;
  for (const m of produced) {
    const id = m.value?.event_id;
    if (typeof id !== 'string') {
      unparsable += 1;
      continue;
    }
    const list = producedIds.get(id) ?? [];
    list.push(coordKey(m.topic, m.partition, m.offset));
    producedIds.set(id, list);
  }
  const producerDuplicates = [...producedIds.values()].filter((l) => l.length > 1).length;

  const rows = [];
  for (const table of ['train_arrivals', 'incident_events']) {
    const { rows: r } = await db.query(
      `SELECT event_id::text AS id, _kafka_topic AS t, _kafka_partition AS p, _kafka_offset::text AS o FROM "${dbSchema}"."${table}"`,
    );
    for (const row of r) rows.push(row);
  }
  const quarantined = Number((await db.query(`SELECT count(*) AS n FROM "${dbSchema}".eventful_rejected`)).rows[0].n);
  const seenIds = new Map();
  const seenCoords = new Map();
  let coordinateMismatches = 0;
  let extra = 0;
  for (const row of rows) {
    seenIds.set(row.id, (seenIds.get(row.id) ?? 0) + 1);
    const ck = coordKey(row.t, row.p, Number(row.o));
    seenCoords.set(ck, (seenCoords.get(ck) ?? 0) + 1);
    const coords = producedIds.get(row.id);
    if (!coords) extra += 1;
    else if (!coords.includes(ck)) coordinateMismatches += 1;
  }
  const lost = [...producedIds.keys()].filter((id) => !seenIds.has(id));
  const duplicatedIds = [...seenIds.values()].filter((n) => n > 1).length;
  const duplicatedCoords = [...seenCoords.values()].filter((n) => n > 1).length;
  const duplicated = duplicatedIds + duplicatedCoords + coordinateMismatches;
  if (lost.length) violation(`${lost.length} events lost, e.g. ${lost.slice(0, 3).join(', ')}`);
  if (duplicated)
    violation(
      `${duplicated} duplicated rows (ids ${duplicatedIds}, coordinates ${duplicatedCoords}, misplaced ${coordinateMismatches})`,
    );
  if (extra) violation(`${extra} rows whose event id was never produced`);
  if (unparsable) violation(`${unparsable} produced messages had no event id (the simulator only writes valid events)`);
  if (quarantined) violation(`${quarantined} events were quarantined (the simulator only writes valid events)`);

  // Incident states: the newest event per incident (event time, then topic, partition, offset).
  const newest = new Map();
  for (const m of produced)
    if (m.topic === incidentsTopic && m.value) {
      const cur = newest.get(m.value.incident_id);
      if (!cur || stateOrder(m, cur) > 0) newest.set(m.value.incident_id, m);
    }
  const { rows: states } = await db.query(
    `SELECT incident_id, event_id::text AS event_id, status, severity FROM "${dbSchema}".incidents`,
  );
  let stateMismatches = 0;
  const actual = new Map(states.map((s) => [s.incident_id, s]));
  for (const [id, m] of newest) {
    const s = actual.get(id);
    if (!s || s.event_id !== m.value.event_id || s.status !== m.value.status || s.severity !== m.value.severity) {
      stateMismatches += 1;
      if (stateMismatches <= 3)
        violation(
          `incident ${id}: warehouse ${JSON.stringify(s)}, expected event ${m.value.event_id} (${m.value.status}, ${m.value.severity})`,
        );
    }
  }
  for (const id of actual.keys()) if (!newest.has(id)) stateMismatches += 1;
  if (stateMismatches) violation(`${stateMismatches} incident states differ from the reference`);

  // Snapshot tiling: every complete snapshot is in the ledger, and their ranges tile each partition.
  const { rows: ledgerRows } = await db.query(`SELECT snapshot_id FROM "${dbSchema}".eventful_load_ledger`);
  const ledger = new Set(ledgerRows.map((r) => r.snapshot_id));
  const names = await lake.ids();
  const manifests = [];
  for (const n of names) {
    let m;
    try {
      m = JSON.parse((await lake.manifestText(n)) ?? '');
    } catch {
      continue;
    }
    manifests.push(m);
    if (!ledger.has(n)) violation(`complete snapshot ${n} was never loaded`);
  }
  for (const id of ledger)
    if (!names.includes(id)) violation(`the ledger names snapshot ${id}, which is not in the lake`);
  const ends = new Map();
  for (const m of produced) {
    const k = `${m.topic}[${m.partition}]`;
    ends.set(k, Math.max(ends.get(k) ?? 0, m.offset + 1));
  }
  let gaps = 0;
  let overlapPairs = 0;
  let overlapOffsets = 0;
  let unexplained = 0;
  const ranges = new Map();
  for (const m of manifests)
    for (const r of m.partitions) {
      const k = `${r.topic}[${r.partition}]`;
      const list = ranges.get(k) ?? [];
      list.push({ ...r, snapshotId: m.snapshotId });
      ranges.set(k, list);
    }
  for (const [k, end] of ends) {
    const list = (ranges.get(k) ?? []).sort(
      (a, b) => a.firstOffset - b.firstOffset || a.snapshotId.localeCompare(b.snapshotId),
    );
    let next = 0;
    for (const r of list) {
      if (r.firstOffset > next) {
        gaps += 1;
        violation(`${k}: offsets ${next}..${r.firstOffset - 1} are in no snapshot`);
      }
      next = Math.max(next, r.lastOffset + 1);
    }
    if (next < end) {
      gaps += 1;
      violation(`${k}: offsets ${next}..${end - 1} are in no snapshot`);
    }
    // Each overlapping pair: the earlier snapshot's run must not have committed (the later one re-read it).
    for (let i = 0; i < list.length; i++)
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i];
        const b = list[j];
        const lo = Math.max(a.firstOffset, b.firstOffset);
        const hi = Math.min(a.lastOffset, b.lastOffset);
        if (lo > hi) continue;
        overlapPairs += 1;
        overlapOffsets += hi - lo + 1;
        const [older] = [a, b].sort((x, y) => x.snapshotId.localeCompare(y.snapshotId));
        const origin = snapshotOrigin.get(older.snapshotId);
        if (!origin || origin.committed) {
          unexplained += 1;
          violation(
            `${k}: ${a.snapshotId} and ${b.snapshotId} overlap on ${lo}..${hi}, but ${older.snapshotId} was committed (${origin?.how})`,
          );
        }
      }
  }

  const arrivals = produced.filter((m) => m.topic === arrivalsTopic).length;
  return {
    produced: produced.length,
    producedArrivals: arrivals,
    producedIncidentEvents: produced.length - arrivals,
    producerDuplicates,
    loaded: rows.length,
    quarantined,
    lost: lost.length,
    duplicated,
    extra,
    incidentStates: { incidents: newest.size, mismatches: stateMismatches },
    snapshots: {
      complete: manifests.length,
      inLedger: ledger.size,
      gaps,
      overlapPairs,
      overlapOffsets,
      unexplainedOverlaps: unexplained,
    },
  };
}

/**
 * Runs `prune --grace 0`, dry then for real: it must list exactly the leftovers the lake shows (found independently
 * of it), remove them all, and leave every complete snapshot as it was; a load afterwards has nothing to do.
 * @param {{lake: Lake, violation: (m: string) => void, load: () => Promise<ProcResult>}} o
 */
async function checkPrune({ lake, violation, load }) {
  say('prune: what killed or failed attempts left, dry run then for real');
  const expected = await lake.leftovers();
  /** What must survive: every complete snapshot's manifest, and the files it names at their sizes. */
  const kept = new Map();
  for (const id of await lake.complete()) kept.set(id, await lake.manifestText(id));
  const args = ['--snapshots', lake.location, '--grace', '0'];
  const wantCode = expected.length ? 0 : 99;

  const dry = await startCommand('prune', [...args, '--dry-run']).done;
  const listed = (dry.summary?.leftovers ?? []).map((c) => c.location).sort();
  if (dry.code !== wantCode) violation(`prune --dry-run exited ${dry.code}, not ${wantCode}: ${lastError(dry)}`);
  if (dry.summary?.found !== expected.length || (expected.length <= 100 && listed.join('\n') !== expected.join('\n')))
    violation(
      `prune --dry-run listed ${dry.summary?.found} leftover(s) [${listed.join(', ')}]; the lake has ` +
        `${expected.length} [${expected.join(', ')}]`,
    );
  if ((await lake.leftovers()).length !== expected.length) violation('prune --dry-run removed something');

  const real = await startCommand('prune', args).done;
  if (real.code !== wantCode) violation(`prune exited ${real.code}, not ${wantCode}: ${lastError(real)}`);
  if (real.summary?.removed !== expected.length)
    violation(`prune removed ${real.summary?.removed} leftover(s), not ${expected.length}`);
  const after = await lake.leftovers();
  if (after.length) violation(`prune left ${after.length} leftover(s) behind: ${after.join(', ')}`);

  let damaged = 0;
  for (const [id, text] of kept) {
    if ((await lake.manifestText(id)) !== text) {
      damaged += 1;
      violation(`prune changed or removed the manifest of complete snapshot ${id}`);
      continue;
    }
    for (const f of JSON.parse(text).files) {
      const size = await lake.size(id, f.path ?? f.name);
      if (size !== f.bytes) {
        damaged += 1;
        violation(`prune touched ${id}/${f.path ?? f.name} of a complete snapshot: ${size} bytes, not ${f.bytes}`);
      }
    }
  }
  const l = await load();
  if (l.code !== 99) violation(`load after prune exited ${l.code}, not 99 (nothing left to load): ${lastError(l)}`);
  return {
    leftovers: expected.length,
    uploads: expected.filter((x) => x.endsWith('(unfinished multipart upload)')).length,
    listed: dry.summary?.found ?? null,
    removed: real.summary?.removed ?? null,
    objects: dry.summary?.objects ?? null,
    bytes: dry.summary?.bytes ?? null,
    snapshotsKept: kept.size,
    damaged,
  };
}

function printTable(report) {
  const lines = [];
  lines.push(
    '',
    `fault campaign, store ${report.store} (${report.location}), seed "${report.seed}"` +
      `${report.short ? ' (short)' : ''}: ${report.durationS}s`,
  );
  lines.push('  kind                 injected  landed  what the landed ones hit');
  for (const k of report.kinds) {
    const s = report.byKind[k];
    if (!s) {
      lines.push(`  ${k.padEnd(20)} ${report.skippedKinds.includes(k) ? '(skipped: no tmpfs)' : '0'}`);
      continue;
    }
    const v = Object.entries(s.variants)
      .map(([name, n]) => `${name}${n > 1 ? ` ×${n}` : ''}`)
      .join('; ');
    lines.push(`  ${k.padEnd(20)} ${String(s.injected).padStart(8)}  ${String(s.landed).padStart(6)}  ${v}`);
  }
  lines.push(
    `  total                ${String(report.faultsInjected).padStart(8)}  ${String(report.faultsLanded).padStart(6)}`,
  );
  lines.push(
    `  runs: ${report.runs.extract} extract, ${report.runs.load} load, ${report.runs.simulate} simulate (${report.runs.simulateFailed} failed)`,
  );
  if (report.produced !== undefined) {
    lines.push(
      `  events produced ${report.produced} (${report.producedArrivals} arrivals, ${report.producedIncidentEvents} incident events), ` +
        `loaded ${report.loaded}, lost ${report.lost}, duplicated ${report.duplicated}, extra ${report.extra}, quarantined ${report.quarantined}`,
    );
    lines.push(
      `  incidents ${report.incidentStates.incidents}, state mismatches ${report.incidentStates.mismatches}; snapshots ` +
        `${report.snapshots.complete} (ledger ${report.snapshots.inLedger}), gaps ${report.snapshots.gaps}, overlapping pairs ` +
        `${report.snapshots.overlapPairs} (${report.snapshots.overlapOffsets} offsets re-read, ${report.snapshots.unexplainedOverlaps} unexplained)`,
    );
  }
  if (report.killedUpload)
    lines.push(
      `  extract killed mid-upload: ${report.killedUpload.landed ? 'landed' : 'MISSED'} (try ${report.killedUpload.attempt}, ` +
        `${report.killedUpload.uploadsLeft} upload(s) left)`,
    );
  if (report.prune)
    lines.push(
      `  prune: ${report.prune.leftovers} leftover(s) (${report.prune.uploads} unfinished uploads), listed ${report.prune.listed}, ` +
        `removed ${report.prune.removed} (${report.prune.objects} objects, ${report.prune.bytes} bytes); ` +
        `${report.prune.snapshotsKept} complete snapshots kept, ${report.prune.damaged} damaged`,
    );
  lines.push(
    `  violations: ${report.violations.length}${report.violations.length ? '\n    ' + report.violations.join('\n    ') : ''}`,
  );
  lines.push(`  ${report.ok ? 'OK: nothing lost, nothing duplicated' : 'FAILED'}`, '');
  process.stderr.write(lines.join('\n') + '\n');
}

// Stop cleanly on Ctrl-C: services back up, no filler left behind.
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    say(`${sig}: restoring the services and stopping`);
    restoreWorld()
      .catch(() => undefined)
      .finally(() => process.exit(130));
  });

main().then(
  (code) => process.exit(code),
  async (err) => {
    await restoreWorld().catch(() => undefined);
    if (err instanceof UsageError) {
      process.stderr.write(`fault-campaign: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`fault-campaign: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
