"""lease grant, put with the lease, keys, ttl, refresh, revoke with etcd3gw."""
from gw_common import connect, emit, s

client, p = connect()
out = {}

lease = client.lease(30)
out['id_positive'] = lease.id > 0
client.put(p + 'a', '1', lease=lease)
client.put(p + 'b', '2', lease=lease)
value, meta = client.get(p + 'a', metadata=True)[0]
out['attached'] = int(meta['lease']) == lease.id
out['keys'] = sorted(s(k) for k in lease.keys())
out['ttl_ok'] = 28 <= lease.ttl() <= 30
out['refresh'] = lease.refresh()
out['revoke'] = lease.revoke()
out['after_revoke'] = {'ttl': lease.ttl(), 'keys': [s(m['key']) for v, m in client.get_prefix(p)], 'refresh': lease.refresh()}
try:
    client.put(p + 'c', '3', lease=lease)
    out['put_with_revoked_lease'] = 'no error'
except Exception as exc:  # etcd3gw raises Etcd3Exception with the body as detail text
    out['put_with_revoked_lease'] = {'type': type(exc).__name__, 'detail': str(exc.detail_text)}
emit(out)
