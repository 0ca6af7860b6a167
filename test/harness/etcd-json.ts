/**
 * Parses etcdctl's `-w json` output. Its int64/uint64 fields (cluster_id, member_id, lease
 * IDs) exceed 2^53, so integers of 16 or more digits are kept as decimal strings instead of
 * being rounded; smaller numbers (revisions, versions, TTLs) stay numbers.
 */
export function parseEtcdJson<T = any>(text: string): T {
  const quoted = text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"$2"');
  return JSON.parse(quoted) as T;
}

/** Decodes one of the base64 byte strings (keys, values) in etcd's JSON output. */
export function b64(text: string | undefined): string {
  return Buffer.from(text ?? '', 'base64').toString('utf8');
}

/** A lease ID as etcdctl prints it in simple output (`%016x`): 16 lower-case hex digits. */
export function leaseHex(id: string | number | bigint): string {
  return BigInt(id).toString(16).padStart(16, '0');
}
