"""watch (iterator and cancel), watch_prefix with prev_kv, watch_once with etcd3gw."""
import base64
import threading
import time

from gw_common import connect, emit, s

client, p = connect()
out = {}


def collect(events, n, into):
    for event in events:
        kv = event['kv']
        item = {'type': event.get('type', 'PUT'), 'key': s(kv['key']), 'value': s(kv.get('value')), 'version': kv.get('version')}
        if 'prev_kv' in event:
            # etcd3gw decodes the event's kv only; prev_kv stays as the gateway wrote it.
            item['prev_value'] = base64.b64decode(event['prev_kv'].get('value', '')).decode()
        into.append(item)
        if len(into) == n:
            return


key_events, cancel_key = client.watch(p + 'k')
prefix_events, cancel_prefix = client.watch_prefix(p + 'dir/', prev_kv=True)
got_key, got_prefix = [], []
t1 = threading.Thread(target=collect, args=(key_events, 3, got_key), daemon=True)
t2 = threading.Thread(target=collect, args=(prefix_events, 2, got_prefix), daemon=True)
t1.start()
t2.start()
client.put(p + 'k', 'a')
client.put(p + 'dir/x', '1')
client.put(p + 'k', 'b')
client.put(p + 'dir/x', '2')
client.delete(p + 'k')
t1.join(10)
t2.join(10)
cancel_key()
cancel_prefix()
out['key_events'] = got_key
out['prefix_events'] = got_prefix

result = {}


def once():
    result['event'] = client.watch_once(p + 'once', timeout=10)


t3 = threading.Thread(target=once, daemon=True)
t3.start()
time.sleep(1)
client.put(p + 'once', 'z')
t3.join(10)
ev = result.get('event')
out['once'] = None if ev is None else {'key': s(ev['kv']['key']), 'value': s(ev['kv']['value'])}
emit(out)
