/** Where to listen for one of etcd's listen URLs (`http://host:port`). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export function listenAddress(url: string): ListenAddress {
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`listen URL ${url}: only http:// is supported (kvfleet has no TLS yet)`);
  // IPv6 literals come bracketed; `localhost` binds IPv4 loopback only, as etcd (Go) does.
  const hostname = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const host = hostname === 'localhost' ? '127.0.0.1' : hostname;
  return { host, port: u.port === '' ? 80 : Number(u.port) };
}

/** `host:port` to dial a listener bound to `host` (a wildcard address is reached on loopback). */
export function dialAddress(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '') return `127.0.0.1:${String(port)}`;
  if (host === '::') return `[::1]:${String(port)}`;
  return host.includes(':') ? `[${host}]:${String(port)}` : `${host}:${String(port)}`;
}
