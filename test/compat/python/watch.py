"""watch/watch_prefix with start_revision and prev_kv, and a watch from a compacted revision."""
import threading

import etcd3

from common import connect, emit, s

client, p = connect()
out = {}


def collect(iterator, cancel, count, timeout=10):
    """The first `count` events (or fewer if `timeout` seconds pass), then cancel."""
    timer = threading.Timer(timeout, cancel)
    timer.start()
    events = []
    try:
        for event in iterator:
            item = {
                'type': type(event).__name__,
                'key': s(event.key),
                'value': s(event.value),
                'mod_revision': event.mod_revision,
                'version': event.version,
            }
            if event._event.HasField('prev_kv'):
                item['prev_value'] = s(event.prev_value)
            events.append(item)
            if len(events) >= count:
                break
    finally:
        timer.cancel()
        cancel()
    return events


start = client.get(p + 'nothing-here')  # warm the connection
rev = client.put(p + 'warm', '0').header.revision
key_iter, key_cancel = client.watch(p + 'k', start_revision=rev + 1)
prefix_iter, prefix_cancel = client.watch_prefix(p + 'dir/', start_revision=rev + 1, prev_kv=True)

client.put(p + 'k', 'a')            # rev + 1
client.put(p + 'dir/x', '1')        # rev + 2
client.put(p + 'k', 'b')            # rev + 3
client.put(p + 'dir/x', '2')        # rev + 4
client.delete(p + 'dir/x')          # rev + 5
client.delete(p + 'k')              # rev + 6

out['rev'] = rev
out['key_events'] = collect(key_iter, key_cancel, 3)
out['prefix_events'] = collect(prefix_iter, prefix_cancel, 3)

# History: a watch started at an old revision replays what happened since.
history_iter, history_cancel = client.watch(p + 'k', start_revision=rev + 1)
out['history'] = collect(history_iter, history_cancel, 3)

# Compaction makes older revisions unwatchable.
client.compact(rev + 3)
compacted_iter, compacted_cancel = client.watch(p + 'k', start_revision=rev + 1)
try:
    out['compacted'] = {'events': collect(compacted_iter, compacted_cancel, 1, timeout=5)}
except etcd3.exceptions.RevisionCompactedError as exc:
    out['compacted'] = {'error': type(exc).__name__, 'compacted_revision': exc.compacted_revision}
emit(out)
