"""Shared helpers for the etcd3gw (JSON gateway) compatibility scripts.

Each script takes HOST PORT PREFIX, talks to the member's JSON gateway at http://HOST:PORT/v3/
with python's `etcd3gw` (2.0, Debian's python3-etcd3gw), keeps its keys under PREFIX and prints
one JSON object on its last line for the TypeScript suite to assert on.
"""
import json
import os
import sys

from etcd3gw.client import Etcd3Client


def connect():
    host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # etcd3gw defaults to /v3alpha/, which etcd 3.4 no longer serves; /v3/ is the API kvfleet speaks.
    return Etcd3Client(host=host, port=port, timeout=10, api_path='/v3/'), prefix


def s(value):
    """bytes -> str (None stays None)."""
    return None if value is None else (value.decode('utf-8') if isinstance(value, (bytes, bytearray)) else value)


def emit(result):
    sys.stdout.write(json.dumps(result, sort_keys=True) + '\n')
    sys.stdout.flush()
    # etcd3gw's watch threads may still sit in a socket read; do not wait for them.
    os._exit(0)
