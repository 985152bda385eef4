import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/basics/errors.js';
import {
  envNameFor,
  isSecretKey,
  kafkaPropertiesFromEnv,
  parseKafkaConfigJson,
  parseKafkaFlags,
  redactKafkaConfig,
  resolveKafkaConfig,
} from '../../src/config/kafka-config.js';

describe('kafka config', () => {
  it('should read librdkafka properties from EVENTFUL_KAFKA__ variables, "_" becoming "." and lowercased', () => {
    expect(
      kafkaPropertiesFromEnv({
        EVENTFUL_KAFKA__SASL_PASSWORD: 's3cret',
        EVENTFUL_KAFKA__SECURITY_PROTOCOL: 'SASL_SSL',
        EVENTFUL_KAFKA_CONFIG: '{}',
        OTHER: 'x',
      }),
    ).toEqual({ 'sasl.password': 's3cret', 'security.protocol': 'SASL_SSL' });
    expect(envNameFor('sasl.password')).toBe('EVENTFUL_KAFKA__SASL_PASSWORD');
  });

  it('should read EVENTFUL_KAFKA_CONFIG as a JSON object of properties and accept an empty or null one', () => {
    expect(parseKafkaConfigJson('{"bootstrap.servers":"b:9092","socket.keepalive.enable":true,"x":null}')).toEqual({
      'bootstrap.servers': 'b:9092',
      'socket.keepalive.enable': true,
    });
    expect(parseKafkaConfigJson(undefined)).toEqual({});
    expect(parseKafkaConfigJson('null')).toEqual({});
    expect(() => parseKafkaConfigJson('[1]')).toThrow(UsageError);
    expect(() => parseKafkaConfigJson('{"a":{"b":1}}')).toThrow(/property "a"/);
  });

  it('should never quote the text of an EVENTFUL_KAFKA_CONFIG that is not JSON (it may hold a password)', () => {
    const attempt = (): unknown => parseKafkaConfigJson('{"sasl.password": hunter2}');
    expect(attempt).toThrow(UsageError);
    expect(attempt).not.toThrow(/hunter2/);
  });

  it('should refuse secrets in --kafka flags and name the variable to use instead', () => {
    for (const key of [
      'sasl.password',
      'ssl.key.password',
      'ssl.key.pem',
      'sasl.jaas.config',
      'sasl.oauthbearer.client.secret',
    ])
      expect(() => parseKafkaFlags([`${key}=x`])).toThrow(new RegExp(envNameFor(key)));
    expect(parseKafkaFlags(['security.protocol=SASL_SSL', 'ssl.key.location=/etc/k.pem', 'client.id=a=b'])).toEqual({
      'security.protocol': 'SASL_SSL',
      'ssl.key.location': '/etc/k.pem',
      'client.id': 'a=b',
    });
    expect(() => parseKafkaFlags(['novalue'])).toThrow(/key=value/);
  });

  it('should let flags win over specific variables, and those over KAFKA_BOOTSTRAP_SERVERS and the JSON config', () => {
    const env = {
      EVENTFUL_KAFKA_CONFIG: '{"bootstrap.servers":"json:1","client.id":"json","fetch.min.bytes":1}',
      KAFKA_BOOTSTRAP_SERVERS: 'env:2',
      EVENTFUL_KAFKA__CLIENT_ID: 'var',
    };
    expect(resolveKafkaConfig({ env })).toEqual({
      'bootstrap.servers': 'env:2',
      'client.id': 'var',
      'fetch.min.bytes': 1,
    });
    expect(resolveKafkaConfig({ env, kafkaFlags: ['client.id=flag'], bootstrapServers: 'flag:3' })).toEqual({
      'bootstrap.servers': 'flag:3',
      'client.id': 'flag',
      'fetch.min.bytes': 1,
    });
  });

  it('should refuse a config that names no broker', () => {
    expect(() => resolveKafkaConfig({ env: {} })).toThrow(/--bootstrap-servers/);
  });

  it('should redact every secret value and keep the rest', () => {
    expect(
      redactKafkaConfig({
        'bootstrap.servers': 'b:9092',
        'sasl.username': 'me',
        'sasl.password': 'p',
        'ssl.keystore.password': 'p',
        'sasl.oauthbearer.client.secret': 'p',
        'ssl.key.location': '/k',
      }),
    ).toEqual({
      'bootstrap.servers': 'b:9092',
      'sasl.username': 'me',
      'sasl.password': '***',
      'ssl.keystore.password': '***',
      'sasl.oauthbearer.client.secret': '***',
      'ssl.key.location': '/k',
    });
    expect(isSecretKey('SASL.PASSWORD')).toBe(true);
  });
});
