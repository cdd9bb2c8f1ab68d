import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../src/api/redact-config.js';

describe('redactSecrets', () => {
  it('masks values under secret-looking keys at any depth, whatever their type', () => {
    expect(
      redactSecrets({
        kafka: { sasl: { mechanism: 'plain', username: 'u', password: 'p' }, ssl: true },
        registry: { basic_auth_password: 'x', 'api-key': 'k', bearerToken: 't', clientSecret: { nested: 1 } },
        list: [{ privateKey: 'pem' }, { credentials: ['a'] }],
        authorization: 'Bearer abc',
        passphrase: 42,
      }),
    ).toEqual({
      kafka: { sasl: '***', ssl: true },
      registry: { basic_auth_password: '***', 'api-key': '***', bearerToken: '***', clientSecret: '***' },
      list: [{ privateKey: '***' }, { credentials: '***' }],
      authorization: '***',
      passphrase: '***',
    });
  });

  it('keeps unset secrets visibly unset', () => {
    expect(redactSecrets({ sasl: null, password: undefined })).toEqual({ sasl: null, password: undefined });
  });

  it('leaves ordinary comparison settings alone', () => {
    const config = {
      id: 'orders-v2',
      key: ['order_id'],
      live: { kafka: { topic: 'orders', groupId: 'g', fromBeginning: true } },
      simulate: { keySpace: 100, seed: 1 },
      redact: ['customer.email'],
      verdict: { tolerance: 0.001, fields: { amount: 0.01 } },
    };
    expect(redactSecrets(config)).toEqual(config);
  });

  it('masks the userinfo of URLs in any string', () => {
    expect(redactSecrets('https://alice:pw@example.com/a')).toBe('https://***@example.com/a');
    expect(redactSecrets('https://ghp_token123@github.com/x.git')).toBe('https://***@github.com/x.git');
    expect(redactSecrets('brokers SASL_SSL://u:p@b1:9093,SASL_SSL://u:p@b2:9093')).toBe(
      'brokers SASL_SSL://***@b1:9093,SASL_SSL://***@b2:9093',
    );
    expect(redactSecrets('mailto-free text with user@example.com')).toBe('mailto-free text with user@example.com');
    expect(redactSecrets('http://registry:8081/subjects')).toBe('http://registry:8081/subjects');
  });

  it('masks secret-looking query parameters', () => {
    expect(redactSecrets('https://h/p?page=2&access_token=abc&api_key=k#top')).toBe(
      'https://h/p?page=2&access_token=***&api_key=***#top',
    );
    expect(redactSecrets('s3://bucket/x?X-Amz-Signature=deadbeef&X-Amz-Date=1')).toBe(
      's3://bucket/x?X-Amz-Signature=***&X-Amz-Date=1',
    );
  });

  it('returns a copy', () => {
    const config = { nested: { password: 'p' } };
    redactSecrets(config);
    expect(config).toEqual({ nested: { password: 'p' } });
  });
});
