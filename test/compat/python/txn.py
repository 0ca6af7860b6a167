"""transaction() with value/version/create/mod compares and both branches, with python etcd3."""
from common import connect, emit, s

client, p = connect()
t = client.transactions
out = {}

rev = client.put(p + 'k', 'v1').header.revision
out['rev'] = rev
ok, responses = client.transaction(
    compare=[
        t.value(p + 'k') == 'v1',
        t.version(p + 'k') == 1,
        t.create(p + 'k') == rev,
        t.mod(p + 'k') < rev + 1,
    ],
    success=[t.put(p + 'ok', 'yes'), t.get(p + 'k')],
    failure=[t.put(p + 'failed', 'yes')],
)
out['success'] = {
    'ok': ok,
    # get ops come back as lists of (value, metadata) tuples, others as raw responses
    'kinds': [r.WhichOneof('response') if hasattr(r, 'WhichOneof') else 'range' for r in responses],
    'got': [[s(v), s(m.key)] for v, m in responses[1]],
    'ok_key': s(client.get(p + 'ok')[0]),
    'failed_key': s(client.get(p + 'failed')[0]),
}

ok, responses = client.transaction(
    compare=[t.value(p + 'k') != 'v1'],
    success=[t.put(p + 'ok', 'no')],
    failure=[t.delete(p + 'ok'), t.put(p + 'failed', 'yes')],
)
out['failure'] = {
    'ok': ok,
    'kinds': [r.WhichOneof('response') for r in responses],
    'deleted': responses[0].response_delete_range.deleted,
    'ok_key': s(client.get(p + 'ok')[0]),
    'failed_key': s(client.get(p + 'failed')[0]),
}

ok_version, _ = client.transaction(compare=[t.version(p + 'none') == 0], success=[], failure=[])
ok_value, _ = client.transaction(compare=[t.value(p + 'none') == ''], success=[], failure=[])
ok_gt, _ = client.transaction(compare=[t.version(p + 'k') > 0, t.mod(p + 'k') > 0], success=[], failure=[])
out['missing_key'] = {'version_eq_0': ok_version, 'value_eq_empty': ok_value, 'existing_gt_0': ok_gt}
emit(out)
