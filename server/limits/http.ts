import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import ipaddr from 'ipaddr.js';
import { ErrorCode } from '../errors.js';

/**
 * The address per-address limits count for a request: the socket's peer, or
 * with `trustProxy` proxies in front, the entry that many hops from the right
 * of `X-Forwarded-For` (each proxy appends the address it received the
 * request from, so entries further left were written by the client and can
 * be forged). A header with fewer entries than `trustProxy` cannot say which
 * entry a trusted proxy wrote: the peer counts then, never a client-written
 * entry. IPv6 addresses count by their `ipv6PrefixLength` network (one
 * subscriber gets a whole /64, so single addresses would be unlimited);
 * IPv4-mapped IPv6 addresses count as the IPv4 address.
 */
export function clientAddress(req: IncomingMessage, trustProxy: number, ipv6PrefixLength = 64): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustProxy <= 0) return addressKey(peer, ipv6PrefixLength);
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((s) => s.trim()).filter(Boolean);
  const forwarded = hops.length >= trustProxy ? hops[hops.length - trustProxy] : undefined;
  return addressKey(forwarded ?? peer, ipv6PrefixLength);
}

/**
 * What an address counts as: an IPv6 address as its `/prefixLength` network
 * (`2001:db8:1:2::/64`), an IPv4 or IPv4-mapped one as the IPv4 address,
 * anything unparsable as it is.
 */
export function addressKey(address: string, prefixLength = 64): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const ipv6 = parsed as ipaddr.IPv6;
  if (ipv6.isIPv4MappedAddress()) return ipv6.toIPv4Address().toString();
  if (prefixLength >= 128) return ipv6.toString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${ipv6.toString()}/${prefixLength}`).toString()}/${prefixLength}`;
}

/** Answers with a GraphQL-shaped error and closes the connection (its body is never read). */
function refuse(res: ServerResponse, status: number, code: string, message: string) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/**
 * Refuses a request body over `limit` bytes before reading any of it: 413 when
 * its `Content-Length` says so, 411 when a body comes without one (chunked):
 * Node's parser then guarantees the body is exactly as long as declared.
 * Resolves whether the request was refused.
 */
export function refuseLargeBody(req: IncomingMessage, res: ServerResponse, limit: number): boolean {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    if (Number(declared) <= limit) return false;
    refuse(res, 413, ErrorCode.PayloadTooLarge, `The request body is larger than ${limit} bytes.`);
    return true;
  }
  if (req.headers['transfer-encoding'] === undefined) return false;
  refuse(res, 411, ErrorCode.PayloadTooLarge, 'Send a Content-Length with the request body.');
  return true;
}

interface CompressedPage {
  etag: string;
  identity: Buffer;
  br: Buffer;
  gzip: Buffer;
}

/**
 * Serves one large, fixed HTML page (GraphiQL: 9 MB with its editor bundled)
 * compressed once and shared by every request: brotli or gzip by
 * `Accept-Encoding`, an ETag so a browser revalidates with a 304 instead of
 * downloading it again. The page is rendered and compressed on the first
 * request (a few hundred ms of work off the event loop, in zlib's threads).
 */
export function createStaticPage(render: () => string) {
  let page: Promise<CompressedPage> | undefined;
  const prepare = async (): Promise<CompressedPage> => {
    const identity = Buffer.from(render());
    const [br, gz] = await Promise.all([
      promisify(brotliCompress)(identity, { params: { [zlib.BROTLI_PARAM_QUALITY]: 4, [zlib.BROTLI_PARAM_SIZE_HINT]: identity.length } }),
      promisify(gzip)(identity, { level: 6 }),
    ]);
    return { etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 27)}"`, identity, br, gzip: gz };
  };
  return async (req: IncomingMessage, res: ServerResponse) => {
    const { etag, ...bodies } = await (page ??= prepare());
    const headers: Record<string, string> = {
      'content-type': 'text/html; charset=utf-8',
      // Revalidated on every load, so a new version shows at once; unchanged, it costs a 304.
      'cache-control': 'no-cache',
      etag,
      vary: 'Accept-Encoding',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return;
    }
    const accepted = String(req.headers['accept-encoding'] ?? '');
    const encoding = /\bbr\b/.test(accepted) ? 'br' : /\bgzip\b/.test(accepted) ? 'gzip' : 'identity';
    const body = bodies[encoding];
    if (encoding !== 'identity') headers['content-encoding'] = encoding;
    res.writeHead(200, { ...headers, 'content-length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
