import { formatAddress, parseAddress } from '@peerlink/stream';
import { describe, expect, test } from 'vitest';

describe('parseAddress / formatAddress', () => {
  test('parses IPv4, names and bracketed IPv6 with a port', () => {
    expect(parseAddress('127.0.0.1:8000')).toEqual({ host: '127.0.0.1', port: 8000 });
    expect(parseAddress('example.org:0')).toEqual({ host: 'example.org', port: 0 });
    expect(parseAddress('[::1]:65535')).toEqual({ host: '::1', port: 65535 });
  });

  test('rejects malformed addresses with ERR_INVALID_ARGUMENT', () => {
    for (const bad of [
      '127.0.0.1',
      '::1:80',
      '[::1]80',
      '[::1]',
      ':80',
      'host:',
      'host:65536',
      'host:-1',
      '[]:80',
      'host:1a',
    ]) {
      expect(() => parseAddress(bad), bad).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
    }
  });

  test('formats IPv6 hosts in brackets and round-trips through parseAddress', () => {
    expect(formatAddress('::1', 80)).toBe('[::1]:80');
    expect(formatAddress('10.0.0.1', 80)).toBe('10.0.0.1:80');
    for (const a of ['[fe80::1]:1', '1.2.3.4:5', 'name:6']) {
      const { host, port } = parseAddress(a);
      expect(formatAddress(host, port)).toBe(a);
    }
  });
});
