/**
 * The setup the load integration tests share: one Postgres client per test file and, per test, a fresh
 * Postgres schema and an empty snapshot folder.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { connect, freshSchema } from './pg.js';
import { tempDir } from './snapshot-fixtures.js';

/** What a load test works in. */
export interface LoadTestContext {
  client: pg.Client;
  /** A fresh Postgres schema of the test's own. */
  schema: string;
  /** An empty folder for the test's snapshots. */
  root: string;
}

/**
 * Connects one Postgres client before the file's tests and closes it after them. Call at the top of a test file;
 * `use` receives the client once connected (assign it to the file's variable).
 */
export function usePgClient(use: (client: pg.Client) => void): void {
  let client: pg.Client | undefined;
  beforeAll(async () => {
    client = await connect();
    use(client);
  });
  afterAll(async () => {
    await client?.end();
  });
}

/**
 * {@link usePgClient}, and before each test a fresh schema named `<prefix>_<random>` and an empty snapshot folder.
 * `use` receives them before each test.
 */
export function useLoadTest(prefix: string, use: (context: LoadTestContext) => void): void {
  let client: pg.Client | undefined;
  usePgClient((c) => (client = c));
  beforeEach(async () => {
    const schema = await freshSchema(client!, prefix);
    use({ client: client!, schema, root: await tempDir() });
  });
}
