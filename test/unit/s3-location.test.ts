import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/basics/errors.js';
import { formatS3Location, isS3Location, parseS3Location } from '../../src/snapshot/s3-location.js';

describe('parseS3Location', () => {
  it('should read a bucket and a prefix, normalising the prefix to end in a slash', () => {
    expect(parseS3Location('s3://lake/raw/kafka')).toEqual({ bucket: 'lake', prefix: 'raw/kafka/' });
    expect(parseS3Location('s3://lake/raw/kafka/')).toEqual({ bucket: 'lake', prefix: 'raw/kafka/' });
  });

  it('should take a bare bucket as its root', () => {
    expect(parseS3Location('s3://lake')).toEqual({ bucket: 'lake', prefix: '' });
    expect(parseS3Location('s3://lake/')).toEqual({ bucket: 'lake', prefix: '' });
  });

  it('should refuse a location without a bucket with a usage error', () => {
    expect(() => parseS3Location('s3://')).toThrow(UsageError);
    expect(() => parseS3Location('s3:///prefix')).toThrow(/names no bucket/);
  });

  it.each(['Lake', 'la', 'lake_1', '-lake', 'lake-', 'la..ke', '192.168.1.10', 'a'.repeat(64)])(
    'should refuse the bucket name %s',
    (bucket) => {
      expect(() => parseS3Location(`s3://${bucket}/x`)).toThrow(/not a valid bucket name/);
    },
  );

  it.each(['s3://lake/a//b', 's3://lake/a/../b', 's3://lake/./b', 's3://lake/a b', 's3://lake/a?x=1', 's3://lake/a#b'])(
    'should refuse the prefix of %s',
    (location) => {
      expect(() => parseS3Location(location)).toThrow(UsageError);
    },
  );

  it('should refuse credentials in the location without echoing them', () => {
    let message = '';
    try {
      parseS3Location('s3://AKIAEXAMPLE:s3cr3t@lake/raw');
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/AWS_ACCESS_KEY_ID/);
    expect(message).not.toContain('s3cr3t');
  });

  it('should tell s3 locations from directories', () => {
    expect(isS3Location('s3://lake/x')).toBe(true);
    expect(isS3Location('S3://lake/x')).toBe(true);
    expect(isS3Location('/var/snapshots')).toBe(false);
    expect(isS3Location('s3-snapshots')).toBe(false);
  });

  it('should format a location back', () => {
    expect(formatS3Location('lake', 'raw/kafka/')).toBe('s3://lake/raw/kafka/');
    expect(formatS3Location('lake')).toBe('s3://lake/');
  });
});
