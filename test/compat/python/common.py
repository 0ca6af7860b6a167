"""Shared helpers for the python-etcd3 compatibility scripts.

Each script takes HOST PORT PREFIX, talks to the member at HOST:PORT with the python `etcd3`
client (0.12, Debian's python3-etcd3), keeps its keys under PREFIX and prints one JSON object
on its last line for the TypeScript suite to assert on.
"""
import json
import sys

import etcd3


def connect():
    host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    return etcd3.client(host=host, port=port, timeout=10), prefix


def s(value):
    """bytes -> str (None stays None)."""
    return None if value is None else value.decode('utf-8')


def meta(m):
    """A KeyValue's metadata as a dict (None for a miss)."""
    if m is None:
        return None
    return {
        'key': s(m.key),
        'create_revision': m.create_revision,
        'mod_revision': m.mod_revision,
        'version': m.version,
        'lease_id': m.lease_id,
    }


def rpc_error(exc):
    """A raw grpc error as {code, details}; the client only wraps a few codes itself."""
    code = getattr(exc, 'code', None)
    details = getattr(exc, 'details', None)
    return {
        'type': type(exc).__name__,
        'code': code().name if callable(code) else None,
        'details': details() if callable(details) else str(exc),
    }


def emit(result):
    sys.stdout.write(json.dumps(result, sort_keys=True) + '\n')
    sys.stdout.flush()
