import { Client, credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';

/** Encodes etcdserverpb.RangeRequest{ key } (field 1, bytes) by hand: the probe needs nothing else. */
function rangeRequest(key: string): Buffer {
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length > 127) throw new Error('probe key too long for a one-byte length');
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

/** `http://127.0.0.1:2379` -> `127.0.0.1:2379`. */
export function grpcTarget(clientUrl: string): string {
  const url = new URL(clientUrl);
  return url.host;
}

/**
 * One health probe, the way `etcdctl endpoint health` does it: a linearizable Range of key
 * "health" (which needs a leader and a quorum). Resolves with undefined when the member
 * answered (a permission-denied answer counts, as in etcdctl), else with the error text.
 */
export function probeOnce(clientUrl: string, timeoutMs = 1_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const client = new Client(grpcTarget(clientUrl), credentials.createInsecure());
    client.makeUnaryRequest(
      '/etcdserverpb.KV/Range',
      (request: Buffer) => request,
      (response: Buffer) => response,
      rangeRequest('health'),
      { deadline: Date.now() + timeoutMs },
      (error: ServiceError | null) => {
        client.close();
        if (error === null || error.code === grpcStatus.PERMISSION_DENIED) resolve(undefined);
        else resolve(error.message);
      },
    );
  });
}

/**
 * Probes until the member answers. Rejects after `timeoutMs`, or as soon as `gaveUp()` returns
 * a reason (the member process exited, say), with the last probe error.
 */
export async function waitUntilServing(
  clientUrl: string,
  timeoutMs: number,
  gaveUp: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not probed yet';
  for (;;) {
    const reason = gaveUp();
    if (reason !== undefined) throw new Error(`${clientUrl} will not answer: ${reason} (last probe: ${last})`);
    const error = await probeOnce(clientUrl, Math.min(1_000, Math.max(100, deadline - Date.now())));
    if (error === undefined) return;
    last = error;
    if (Date.now() >= deadline) throw new Error(`${clientUrl} did not answer within ${timeoutMs} ms (last probe: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
