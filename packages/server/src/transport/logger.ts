/** What the transport needs from a logger; console fits, and the default says nothing. */
export interface TransportLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const ignore = (): void => {};

export const SILENT_LOGGER: TransportLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

/** Member ids printed the way etcd prints them, so logs of both read alike. */
export function hexId(id: number): string {
  return id.toString(16);
}
