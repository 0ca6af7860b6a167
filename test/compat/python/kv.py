"""put/get/get_prefix/get_range/delete/delete_prefix/replace/status with python etcd3."""
from common import connect, emit, meta, s

client, p = connect()
out = {}

put = client.put(p + 'k', 'v1')
out['put_revision'] = put.header.revision
value, m = client.get(p + 'k')
out['get'] = {'value': s(value), 'meta': meta(m)}
value, m = client.get(p + 'missing')
out['get_missing'] = {'value': s(value), 'meta': meta(m)}

prev = client.put(p + 'k', 'v2', prev_kv=True)
out['put_prev'] = {'value': s(prev.prev_kv.value), 'version': prev.prev_kv.version, 'revision': prev.header.revision}

for k, v in [('c', '1'), ('a', '3'), ('b', '2')]:
    client.put(p + 'dir/' + k, v)
client.put(p + 'dis', 'outside')
out['prefix'] = [[s(m.key), s(v)] for v, m in client.get_prefix(p + 'dir/')]
out['prefix_desc'] = [s(m.key) for _, m in client.get_prefix(p + 'dir/', sort_order='descend')]
out['prefix_by_value'] = [s(m.key) for _, m in client.get_prefix(p + 'dir/', sort_order='ascend', sort_target='value')]
out['range'] = [s(m.key) for _, m in client.get_range(p + 'dir/a', p + 'dir/c')]

out['replace_ok'] = client.replace(p + 'k', 'v2', 'v3')
out['replace_stale'] = client.replace(p + 'k', 'v2', 'v4')
out['after_replace'] = s(client.get(p + 'k')[0])
out['replace_missing'] = client.replace(p + 'nothing', '', 'x')
out['put_if_not_exists_new'] = client.put_if_not_exists(p + 'once', 'first')
out['put_if_not_exists_again'] = client.put_if_not_exists(p + 'once', 'second')
out['once'] = s(client.get(p + 'once')[0])

out['delete_existing'] = client.delete(p + 'k')
out['delete_missing'] = client.delete(p + 'k')
resp = client.delete(p + 'once', prev_kv=True, return_response=True)
out['delete_response'] = {'deleted': resp.deleted, 'prev': [[s(kv.key), s(kv.value)] for kv in resp.prev_kvs]}
resp = client.delete_prefix(p + 'dir/')
out['delete_prefix'] = resp.deleted
out['left'] = [s(m.key) for _, m in client.get_prefix(p)]

status = client.status()
out['status'] = {
    'version': status.version,
    'db_size_positive': status.db_size > 0,
    'raft_term_positive': status.raft_term > 0,
    'leader_is_member': status.leader is not None and status.leader.id in [m.id for m in client.members],
}
emit(out)
