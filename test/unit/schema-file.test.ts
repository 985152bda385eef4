import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSchemaFile } from '../../src/schema/registry.js';

describe('a schema file that cannot be used', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'eventful-schema-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function problemsOf(text: string): Promise<Array<{ path: string; message: string }>> {
    const file = path.join(dir, 'x.schema.json');
    await writeFile(file, text);
    return (await loadSchemaFile(file)).problems.map(({ path: p, message }) => ({ path: p, message }));
  }

  it('should place broken JSON by line and column, and call an empty file empty', async () => {
    expect(await problemsOf('{\n  "type": "object"\n  "x": 1\n}')).toEqual([
      { path: '', message: "not valid JSON: Expected ',' or '}' after property value at line 3, column 3" },
    ]);
    expect(await problemsOf('')).toEqual([{ path: '', message: 'not valid JSON: the file is empty' }]);
  });

  it('should point at a misspelt keyword, not at the whole schema', async () => {
    const schema = {
      type: 'object',
      'x-warehouse': { topics: ['t'], table: 't', key: ['id'] },
      // A property may bear the misspelt keyword's name, and data may hold it: neither is the place.
      properties: {
        id: { type: 'string', examples: [{ minLenght: 1 }] },
        minLenght: { type: 'string' },
        line: { type: 'string', minLenght: 1 },
      },
      required: ['id'],
    };
    expect(await problemsOf(JSON.stringify(schema))).toEqual([
      {
        path: '/properties/line/minLenght',
        message: expect.stringMatching(/unknown keyword: "minLenght" \(a misspelt keyword\?/),
      },
    ]);
  });
});
