import { describe, expect, it } from 'vitest';
import { metadataColumns, type TableDef } from '../../src/schema/ddl.js';
import type { QueryResultLike, WarehouseConnection } from '../../src/warehouse/connection.js';
import type { EncodedRows } from '../../src/warehouse/line-encoder.js';
import { FlushQueue, skipQuerySql, TableWriter } from '../../src/warehouse/table-writer.js';

const table: TableDef = {
  name: 'things',
  kind: 'event',
  columns: [
    { name: 'id', type: 'uuid', notNull: true, property: 'id' },
    { name: 'region', type: 'text', notNull: true, property: 'region' },
    ...metadataColumns(),
  ],
  primaryKey: ['id', 'region'],
};

/** Records what the writer sends; answers the skip query with `skip(params)`. */
class FakeConnection implements WarehouseConnection {
  readonly queries: Array<{ text: string; params: unknown[] | undefined }> = [];
  readonly copies: Array<{ sql: string; data: string }> = [];
  constructor(private readonly skip: (params: unknown[]) => number[] = () => []) {}
  async query<R>(text: string, params?: unknown[]): Promise<QueryResultLike<R>> {
    this.queries.push({ text, params });
    return { rows: [{ skip: this.skip(params ?? []).join(',') }] as R[], rowCount: 1 };
  }
  async copyIn(sql: string, data: Buffer): Promise<number> {
    this.copies.push({ sql, data: data.toString('utf8') });
    return data.toString('utf8').split('\n').length - 1;
  }
  async close(): Promise<void> {}
}

/** Rows as the encoder hands them over. */
function encoded(...rows: Array<{ row: string; keys: string[] }>): EncodedRows {
  const parts = rows.map((r) => Buffer.from(r.row, 'utf8'));
  let end = 0;
  return {
    data: Buffer.concat(parts),
    ends: Int32Array.from(parts.map((p) => (end += p.length))),
    rows: rows.length,
    keys: [rows.map((r) => r.keys[0]!), rows.map((r) => r.keys[1]!)],
  };
}

const row = (i: number): EncodedRows => encoded({ row: `id${i}\tr${i}\n`, keys: [`id${i}`, `r${i}`] });

describe('TableWriter', () => {
  it('should split a block of rows over batches at row boundaries', async () => {
    const conn = new FakeConnection();
    const queue = new FlushQueue();
    const w = new TableWriter(conn, 's', table, ['id', 'region'], queue, { rows: 3, bytes: 1 << 20 }, undefined, false);
    await w.add(encoded(...[0, 1, 2, 3, 4].map((i) => ({ row: `é${i}\tr\n`, keys: [`é${i}`, 'r'] }))));
    await w.finish();
    await queue.drain();
    expect(conn.copies.map((c) => c.data)).toEqual(['é0\tr\né1\tr\né2\tr\n', 'é3\tr\né4\tr\n']);
  });

  it('should copy in batches of the configured size, one write at a time', async () => {
    const conn = new FakeConnection();
    const queue = new FlushQueue();
    const w = new TableWriter(conn, 's', table, ['id', 'region'], queue, { rows: 2, bytes: 1 << 20 }, undefined, false);
    for (let i = 0; i < 5; i++) await w.add(row(i));
    await w.finish();
    await queue.drain();
    expect(conn.queries).toEqual([]);
    expect(conn.copies.map((c) => c.data)).toEqual(['id0\tr0\nid1\tr1\n', 'id2\tr2\nid3\tr3\n', 'id4\tr4\n']);
    expect(conn.copies[0]!.sql).toBe('COPY "s"."things" ("id", "region") FROM STDIN');
    expect(w.counts).toEqual({ inserted: 5, unchanged: 0 });
  });

  it('should check keys first when checked, and copy only the rows the database does not have', async () => {
    const conn = new FakeConnection(() => [3, 1]);
    const queue = new FlushQueue();
    const w = new TableWriter(conn, 's', table, ['id', 'region'], queue, { rows: 10, bytes: 1 << 20 }, 'cand', true);
    for (let i = 0; i < 4; i++) await w.add(row(i));
    await w.finish();
    await queue.drain();
    expect(conn.queries[0]!.params).toEqual([
      ['id0', 'id1', 'id2', 'id3'],
      ['r0', 'r1', 'r2', 'r3'],
    ]);
    expect(conn.copies).toEqual([
      { sql: 'COPY "s"."things" ("id", "region") FROM STDIN', data: 'id1\tr1\nid3\tr3\n' },
      { sql: 'COPY pg_temp."cand" ("id", "region") FROM STDIN', data: 'id1\tr1\nid3\tr3\n' },
    ]);
    expect(w.counts).toEqual({ inserted: 2, unchanged: 2 });
  });

  it('should start a new batch when the byte budget is spent, and make room for a row larger than a batch', async () => {
    const conn = new FakeConnection();
    const queue = new FlushQueue();
    const w = new TableWriter(conn, 's', table, ['id', 'region'], queue, { rows: 100, bytes: 40 }, undefined, false);
    const bigRow = `${'x'.repeat(100)}\ty\n`;
    const big = encoded({ row: bigRow, keys: ['x', 'y'] });
    await w.add(row(0));
    await w.add(row(1));
    await w.add(big);
    await w.add(row(2));
    await w.finish();
    await queue.drain();
    expect(conn.copies.map((c) => c.data)).toEqual(['id0\tr0\nid1\tr1\n', bigRow, 'id2\tr2\n']);
  });

  it('should group rows by the first two hex digits of a uuid key, in batch order within a group, without skipped rows', async () => {
    const ids = [
      'ff000000-0000-4000-8000-000000000001',
      '0A000000-0000-4000-8000-000000000002',
      '0a000000-0000-4000-8000-000000000003',
      '10000000-0000-4000-8000-000000000004',
      '00000000-0000-4000-8000-000000000005',
      'ff000000-0000-4000-8000-000000000006',
      '01000000-0000-4000-8000-000000000007',
    ];
    const rows = ids.map((id) => ({ row: `${id}\tr\n`, keys: [id, 'r'] }));
    const copy = async (checked: boolean, skip: number[]): Promise<string[]> => {
      const conn = new FakeConnection(() => skip);
      const queue = new FlushQueue();
      const w = new TableWriter(
        conn,
        's',
        table,
        ['id', 'region'],
        queue,
        { rows: 10, bytes: 1 << 20 },
        undefined,
        checked,
      );
      await w.add(encoded(...rows));
      await w.finish();
      await queue.drain();
      return conn.copies[0]!.data.trimEnd()
        .split('\n')
        .map((l) => l.split('\t')[0]!.slice(-1));
    };
    expect(await copy(false, [])).toEqual(['5', '7', '2', '3', '4', '1', '6']);
    // Positions from the skip query are 1-based: rows 2 and 6 (0-based 1 and 5) are already stored.
    expect(await copy(true, [2, 6])).toEqual(['5', '7', '3', '4', '1']);
  });

  it('should keep batch order for keys that are not uuids', async () => {
    const conn = new FakeConnection();
    const queue = new FlushQueue();
    const textKeyed: TableDef = { ...table, columns: table.columns.slice(1), primaryKey: ['region'] };
    const w = new TableWriter(conn, 's', textKeyed, ['region'], queue, { rows: 10, bytes: 1 << 20 }, undefined, false);
    await w.add(encoded(...['ff', '00', 'aa'].map((k) => ({ row: `${k}\n`, keys: [k, ''] }))));
    await w.finish();
    await queue.drain();
    expect(conn.copies[0]!.data).toBe('ff\n00\naa\n');
  });

  it('should report a failed write on the next add or on drain', async () => {
    const conn = new FakeConnection();
    conn.copyIn = async () => {
      throw Object.assign(new Error('duplicate key'), { code: '23505' });
    };
    const queue = new FlushQueue();
    const w = new TableWriter(conn, 's', table, ['id', 'region'], queue, { rows: 1, bytes: 1 << 20 }, undefined, false);
    await w.add(row(0));
    await expect(w.add(row(1))).rejects.toMatchObject({ code: '23505' });
  });
});

describe('skipQuerySql', () => {
  it('should unnest typed key arrays with their positions and find repeats and stored keys', () => {
    const sql = skipQuerySql('s', table);
    expect(sql).toContain('FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS b(k1, k2, i)');
    expect(sql).toContain('row_number() OVER (PARTITION BY b.k1, b.k2 ORDER BY b.i)');
    expect(sql).toContain(
      'WHERE u.rn > 1 OR EXISTS (SELECT 1 FROM "s"."things" t WHERE t."id" = u.k1 AND t."region" = u.k2)',
    );
  });
});
