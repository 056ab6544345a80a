/**
 * Which address the per-address limits count: the peer, the trusted proxy's
 * `X-Forwarded-For` entry, never a client-written one, and IPv6 by its /64.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { addressKey, clientAddress } from '../../server/limits/http.js';
import { startServer } from '../support/harness.js';

const request = (peer: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;

const signIn = (url: string, forwardedFor: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ query: 'mutation { signIn(name: "guest") { token } }' }),
  }).then((res) => res.json() as Promise<{ errors?: Array<{ extensions?: { code?: string } }> }>);

describe('client address', () => {
  it('should take the entry the trusted proxy appended, counted from the right', () => {
    expect(clientAddress(request('10.0.0.2', '203.0.113.9'), 1)).toBe('203.0.113.9');
    expect(clientAddress(request('10.0.0.2', 'forged, 203.0.113.9'), 1)).toBe('203.0.113.9');
    expect(clientAddress(request('10.0.0.2', 'forged, 203.0.113.9, 10.0.0.1'), 2)).toBe('203.0.113.9');
  });

  it('should count the peer, never a client-written entry, when the header has fewer entries than TRUST_PROXY', () => {
    expect(clientAddress(request('10.0.0.2', 'forged'), 2)).toBe('10.0.0.2');
    expect(clientAddress(request('10.0.0.2'), 1)).toBe('10.0.0.2');
    expect(clientAddress(request('10.0.0.2', ' , '), 1)).toBe('10.0.0.2');
  });

  it('should ignore X-Forwarded-For without TRUST_PROXY', () => {
    expect(clientAddress(request('198.51.100.7', '203.0.113.9'), 0)).toBe('198.51.100.7');
  });

  it('should count IPv6 addresses by their /64 and IPv4-mapped ones as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressKey('2001:db8:1:2::1', 48)).toBe('2001:db8:1::/48');
    expect(addressKey('2001:db8:1:2::1', 128)).toBe('2001:db8:1:2::1');
    expect(addressKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('unknown')).toBe('unknown');
    expect(clientAddress(request('::1'), 0)).toBe('::/64');
  });

  it('should give one IPv6 /64 one sign-in allowance, however many of its addresses a client rotates through', async () => {
    const app = await startServer({ trustProxy: 1, signInRate: { points: 3, seconds: 600 } });
    const codes: Array<string | undefined> = [];
    for (let i = 1; i <= 4; i++) codes.push((await signIn(app.url, `2001:db8:7:7::${i.toString(16)}`)).errors?.[0]?.extensions?.code);
    expect(codes).toEqual([undefined, undefined, undefined, 'RATE_LIMITED']);
    // Another /64 has its own.
    expect((await signIn(app.url, '2001:db8:7:8::1')).errors).toBeUndefined();
  });
});
