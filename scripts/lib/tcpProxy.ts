// A TCP proxy in front of the real PostgreSQL or RabbitMQ, so that a test or the chaos run can take a
// dependency away from the processes under test (cut every connection, refuse new ones) and give it
// back, without disturbing anything else that uses the same server.
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Destroys every open connection and refuses new ones until restore() */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server;
  let port = 0;

  let listening = false;
  // Opening twice (a restore of a proxy that is up) must not start a second, unreachable server.
  const open = () =>
    listening ? Promise.resolve() : new Promise<void>((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(targetPort, targetHost);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as net.AddressInfo).port;
        listening = true;
        resolve();
      });
    });

  const shut = () =>
    new Promise<void>((resolve) => {
      listening = false;
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });

  await open();
  return {
    get port() {
      return port;
    },
    cut: shut,
    restore: open,
    close: shut,
  };
}

/** `url` with its port (and host) replaced by the proxy's. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}
