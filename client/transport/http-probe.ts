/**
 * The HTTP reachability check the transport makes after failed WebSocket
 * attempts: does plain HTTP reach the server (then something blocks
 * WebSockets: use SSE), or is the server down (say `offline`)?
 */

/** How long the check may take before it counts as "not reachable". */
const checkTimeoutMs = 5_000;

/** Whether a `{ __typename }` query POSTed to `url` gets an answer that is not a gateway error. */
export async function httpReachable(fetch: typeof globalThis.fetch, url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
      signal: AbortSignal.timeout(checkTimeoutMs),
    });
    await response.body?.cancel();
    // A gateway error means the proxy is up but the server behind it is not.
    return response.status < 500;
  } catch {
    return false;
  }
}
