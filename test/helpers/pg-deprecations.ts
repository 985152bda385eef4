import { afterEach, expect } from 'vitest';

/**
 * Fails the integration test during which node-postgres warns of a deprecation in this process: pg 9 removes
 * what it warns about. The one met so far, "Calling client.query() when the client is already executing a
 * query", means overlapping queries on one client (a `Promise.all` of queries): run them one after another.
 * Node warns once per process, so the first test that overlaps is the one that fails.
 */
const PG_DEPRECATION = /will be removed in pg@9/;

/** One listener per process, even if a worker process runs several test files. */
const SEEN = Symbol.for('eventful.test.pgDeprecations');
const holder = globalThis as { [SEEN]?: string[] };
const seen = (holder[SEEN] ??= (() => {
  const list: string[] = [];
  process.on('warning', (w) => {
    if (w.name === 'DeprecationWarning' && PG_DEPRECATION.test(w.message)) list.push(w.message);
  });
  return list;
})());

afterEach(() => {
  expect(seen.splice(0), 'pg deprecation warnings during this test').toEqual([]);
});
