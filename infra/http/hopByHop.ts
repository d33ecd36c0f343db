// What a proxy must not pass on (RFC 9110, 7.6.1): the hop-by-hop headers, and any header the
// Connection header names. The gateway's proxy and the desktop app's forwarder both use it.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const hopByHopHeaders = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

export function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const namedInConnection = String(headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase());
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !hopByHopHeaders.has(name) && !namedInConnection.includes(name)),
  );
}
