import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * What the proxy does with connections: `pass` forwards them (optionally delaying every chunk the server
 * sends), `refuse` accepts and resets each one at once (a PostgreSQL that is down), `blackhole` accepts and
 * never answers (a PostgreSQL behind a partition: connects hang until the client gives up).
 */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

/**
 * A loopback TCP proxy in front of a real server (the machine's shared PostgreSQL), so a test can make that
 * server unavailable to one app process and restore it, without touching the server itself.
 */
export class TcpProxy {
  mode: ProxyMode = 'pass';
  /** Delay added to every chunk the upstream sends back (slows each query round trip). */
  delayMs = 0;
  private readonly open = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new TcpProxy(server, target);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Connections currently open through the proxy. */
  get connections(): number {
    return [...this.open].filter((socket) => !socket.destroyed).length / 2;
  }

  /** From now on `mode`; every connection already open is cut (the clients see their connection die). */
  cut(mode: Exclude<ProxyMode, 'pass'>): void {
    this.mode = mode;
    for (const socket of this.open) socket.destroy();
    this.open.clear();
  }

  restore(): void {
    this.mode = 'pass';
  }

  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    this.open.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    this.track(client);
    if (this.mode === 'blackhole') return;
    const upstream = connect(this.target.port, this.target.host);
    this.track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (this.delayMs <= 0) client.write(chunk);
      else setTimeout(() => client.writable && client.write(chunk), this.delayMs);
    });
  }

  private track(socket: Socket): void {
    socket.on('error', () => undefined);
    this.open.add(socket);
    socket.on('close', () => this.open.delete(socket));
  }
}
