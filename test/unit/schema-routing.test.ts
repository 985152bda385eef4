import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEMAS_DIR, SchemaRegistry, type LoadedSchema } from '../../src/schema/registry.js';

/** The shipped schemas of train arrivals and incident events, both on topic "mixed", with the `match` given. */
async function mixed(arrivalMatch: LoadedSchema['mapping']['match'], incidentMatch: LoadedSchema['mapping']['match']) {
  const { registry } = await SchemaRegistry.load(DEFAULT_SCHEMAS_DIR);
  const on = (s: LoadedSchema, match: LoadedSchema['mapping']['match']): LoadedSchema => {
    const { match: _, ...mapping } = s.mapping;
    return { ...s, mapping: { ...mapping, topics: ['mixed'], ...(match ? { match } : {}) } };
  };
  const [incident, arrival] = [registry.schemas[0]!, registry.schemas[1]!];
  return new SchemaRegistry([on(arrival, arrivalMatch), on(incident, incidentMatch)]);
}

describe('routing an event among the schemas of one topic', () => {
  it('should say which value the event has and which values each schema takes, never a cut sentence', async () => {
    const registry = await mixed(
      { property: 'event_type', values: ['train_arrival'] },
      { property: 'event_type', values: ['incident_reported', 'incident_resolved'] },
    );
    const r = registry.check('mixed', { event_type: 'train_departure' });
    expect(r).toEqual({
      reason: {
        code: 'no_schema',
        message:
          'no schema for topic "mixed" matches this event\'s event_type "train_departure" (train_arrival takes ' +
          'event_type train_arrival; incident takes event_type incident_reported/incident_resolved)',
      },
    });
    expect(registry.check('mixed', {})).toMatchObject({ reason: { message: /event_type missing \(/ } });
  });

  it('should name the schema without "match" when several claim a topic', async () => {
    const registry = await mixed(undefined, { property: 'event_type', values: ['incident_reported'] });
    expect(registry.check('mixed', { event_type: 'x' })).toMatchObject({
      reason: {
        code: 'no_schema',
        message:
          'topic "mixed" is claimed by several schemas, and train_arrival has no "match" to tell its events ' +
          'apart: run eventful-validate on the schemas',
      },
    });
  });
});
