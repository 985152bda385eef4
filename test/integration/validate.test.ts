import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand as run } from '../helpers/run.js';
import { copySchemas, tempDir } from '../helpers/snapshot-fixtures.js';

async function edit(dir: string, name: string, change: (j: Record<string, any>) => void): Promise<void> {
  const file = path.join(dir, `${name}.schema.json`);
  const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, any>;
  change(json);
  await writeFile(file, JSON.stringify(json, null, 2));
}

describe('validate', () => {
  it('should accept the shipped schemas with exit 0 and summarise them', async () => {
    const r = await run('validate', []);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({
      status: 'ok',
      problems: [],
      schemas: [
        { name: 'incident', tables: ['incident_events', 'incidents'], examples: 2, counterexamples: 1 },
        { name: 'train_arrival', tables: ['train_arrivals'], examples: 2, counterexamples: 3 },
      ],
    });
  });

  it('should print the DDL before the summary with --ddl', async () => {
    const r = await run('validate', ['--ddl', '--db-schema', 'warehouse']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('CREATE TABLE "warehouse"."train_arrivals" (');
    expect(r.stdout).toContain('PRIMARY KEY ("incident_id")');
    expect(r.summary?.['status']).toBe('ok');
  });

  it('should accept a decimal property and its counterexamples, and render it as numeric', async () => {
    const dir = await copySchemas();
    await edit(dir, 'train_arrival', (j) => {
      j.properties.fare = { type: 'string', format: 'decimal', description: 'Fare paid, exact.' };
      j.examples[0].fare = '2.50';
      j['x-counterexamples'].push({ ...j.examples[0], fare: '2,50' }, { ...j.examples[0], fare: 2.5 });
    });
    const r = await run('validate', ['--schemas', dir, '--ddl', '--db-schema', 'warehouse']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('"fare" numeric');
    expect(r.summary).toMatchObject({ status: 'ok', schemas: [{}, { name: 'train_arrival', counterexamples: 5 }] });
  });

  it('should list every problem and exit 2', async () => {
    const dir = await copySchemas();
    await edit(dir, 'incident', (j) => {
      j.examples.push({ ...j.examples[0], severity: 'apocalyptic' });
      j.examples.push({ ...j.examples[0], occurred_at: '0000-01-01T00:00:00Z' });
      j['x-counterexamples'].push(j.examples[0]);
    });
    await edit(dir, 'train_arrival', (j) => {
      j.properties._eventful_note = { type: 'string' };
    });
    const r = await run('validate', ['--schemas', dir]);
    expect(r.code).toBe(2);
    expect(r.summary?.['status']).toBe('invalid');
    const problems = (r.summary?.['problems'] as Array<{ path: string; message: string }>).map(
      (p) => `${p.path}: ${p.message}`,
    );
    expect(problems).toEqual([
      expect.stringMatching(/^\/examples\/2: .*severity/),
      expect.stringMatching(/^\/examples\/3: .*year 0000/),
      expect.stringMatching(/^\/x-counterexamples\/1: validates, but a counter-example must not/),
      expect.stringMatching(/^\/properties\/_eventful_note: .*reserved for the loader/),
    ]);
    expect(r.stderr).toMatch(/ERROR .*incident\.schema\.json \/examples\/2/);
  });

  it('should report schemas that do not compile or map badly', async () => {
    const dir = await copySchemas();
    await edit(dir, 'incident', (j) => {
      j['x-warehouse'].key = ['description'];
      j['x-warehouse'].table = 'Incident-Events';
    });
    await edit(dir, 'train_arrival', (j) => {
      j.properties.station_id.format = 'no-such-format';
    });
    const r = await run('validate', ['--schemas', dir]);
    expect(r.code).toBe(2);
    const messages = (r.summary?.['problems'] as Array<{ message: string }>).map((p) => p.message).join('\n');
    expect(messages).toMatch(/key "description" must be a required property/);
    expect(messages).toMatch(/"Incident-Events" must match/);
    expect(messages).toMatch(/strict mode|unknown format/);
  });

  it('should fail with exit 2 on a folder without schemas', async () => {
    const r = await run('validate', ['--schemas', await tempDir()]);
    expect(r.code).toBe(2);
    expect(r.summary?.['status']).toBe('invalid');
  });
});
