"""put, get, get with metadata, get_prefix, delete, delete_prefix, status with etcd3gw."""
from gw_common import connect, emit, s

client, p = connect()
out = {}

out['put'] = client.put(p + 'a', 'v1')
out['get'] = [s(v) for v in client.get(p + 'a')]
value, meta = client.get(p + 'a', metadata=True)[0]
meta['key'] = s(meta['key'])
out['get_metadata'] = {'value': s(value), 'meta': meta}
out['get_missing'] = client.get(p + 'missing')
for k, v in (('dir/b', '2'), ('dir/a', '1'), ('dir/c', '3'), ('dis', 'x')):
    client.put(p + k, v)
out['prefix'] = [[s(m['key']), s(v)] for v, m in client.get_prefix(p + 'dir/')]
out['prefix_desc'] = [s(m['key']) for v, m in client.get_prefix(p + 'dir/', sort_order='descend')]
out['delete'] = client.delete(p + 'a')
out['delete_missing'] = client.delete(p + 'a')
out['delete_prefix'] = client.delete_prefix(p + 'dir/')
out['left'] = [s(m['key']) for v, m in client.get_prefix(p)]
status = client.status()
out['status'] = {
    'keys': sorted(k for k in status.keys()),
    'header_keys': sorted(status['header'].keys()),
    'db_size_is_string': isinstance(status['dbSize'], str),
}
emit(out)
