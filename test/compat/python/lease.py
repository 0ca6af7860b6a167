"""lease grant, put with a lease, refresh, time to live, revoke, with python etcd3."""
import grpc

from common import connect, emit, rpc_error, s

client, p = connect()
out = {}

lease = client.lease(30)
out['granted'] = {'id_positive': lease.id > 0, 'ttl': lease.ttl}
client.put(p + 'a', '1', lease=lease)
client.put(p + 'b', '2', lease=lease.id)
value, m = client.get(p + 'a')
out['attached'] = m.lease_id == lease.id

refreshed = lease.refresh()
out['refresh'] = [{'id_matches': r.ID == lease.id, 'ttl': r.TTL} for r in refreshed]
out['time_to_live'] = {
    'granted_ttl': lease.granted_ttl,
    'remaining_ok': 28 <= lease.remaining_ttl <= 30,
    'keys': sorted(s(k) for k in lease.keys),
}
info = client.get_lease_info(lease.id)
out['info'] = {'id_matches': info.ID == lease.id, 'grantedTTL': info.grantedTTL}

lease.revoke()
out['after_revoke'] = {
    'keys': [s(m.key) for _, m in client.get_prefix(p)],
    'ttl': client.get_lease_info(lease.id).TTL,
}
try:
    client.put(p + 'c', '3', lease=lease.id)
    out['put_with_revoked_lease'] = 'no error'
except grpc.RpcError as exc:
    out['put_with_revoked_lease'] = rpc_error(exc)
try:
    client.revoke_lease(lease.id)
    out['revoke_again'] = 'no error'
except grpc.RpcError as exc:
    out['revoke_again'] = rpc_error(exc)
emit(out)
