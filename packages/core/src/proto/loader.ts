// Parses kvfleet's .proto files (etcd v3.5's API plus our Raft entry) once, on
// first use, with protobufjs reflection. Lazy so importing @kvfleet/core stays
// cheap for code that never touches the wire protocol.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import type { Root, Service, Type } from 'protobufjs';

/** The proto directory; `../../proto/` resolves the same from `src/proto` and `dist/proto`. */
export const PROTO_DIR: URL = new URL('../../proto/', import.meta.url);

/** Every .proto file we load, relative to PROTO_DIR (imports inside resolve against it too). */
export const PROTO_FILES: readonly string[] = [
  'mvccpb/kv.proto',
  'authpb/auth.proto',
  'etcdserverpb/rpc.proto',
  'v3electionpb/v3election.proto',
  'v3lockpb/v3lock.proto',
  'kvfleet/internal.proto',
];

// Shared, frozen: it sits on message prototypes as the default of every bytes field.
const EMPTY_BYTES: Uint8Array = Object.freeze(Buffer.alloc(0)) as Uint8Array;

let root: Root | undefined;
const typeCache = new Map<string, Type>();

/** The parsed and fully resolved protobufjs Root (parsed on first call, then cached). */
export function protoRoot(): Root {
  if (root === undefined) root = loadRoot();
  return root;
}

function loadRoot(): Root {
  const dir = fileURLToPath(PROTO_DIR);
  const r = new protobuf.Root();
  // Imports are written relative to the proto dir (as etcd's are relative to its
  // module root), not to the importing file, so resolve them against PROTO_DIR.
  r.resolvePath = (_origin: string, target: string): string =>
    path.isAbsolute(target) ? target : path.join(dir, target);
  r.loadSync(PROTO_FILES.map((f) => path.join(dir, f)));
  r.resolveAll();
  fixBytesDefaults(r);
  return r;
}

// protobufjs's proto3 default for an absent bytes field is a frozen empty *array*,
// not a Uint8Array; put an empty Buffer on the prototypes instead so decoded
// messages really match the `Uint8Array` in our interfaces. Must run before any
// message constructor is built (they copy field.defaultValue onto the prototype).
function fixBytesDefaults(ns: protobuf.NamespaceBase): void {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type) {
      for (const field of obj.fieldsArray) {
        if (field.type === 'bytes' && !field.repeated) field.defaultValue = EMPTY_BYTES;
      }
    }
    if (obj instanceof protobuf.Namespace) fixBytesDefaults(obj);
  }
}

/**
 * The message Type with the given fully qualified name, e.g. `etcdserverpb.RangeRequest`.
 * Throws if there is no such message.
 */
export function messageType(fullName: string): Type {
  let t = typeCache.get(fullName);
  if (t === undefined) {
    const found = protoRoot().lookup(fullName);
    if (!(found instanceof protobuf.Type)) throw new Error(`proto: no message type named ${fullName}`);
    t = found;
    typeCache.set(fullName, t);
  }
  return t;
}

/** The protobufjs Service with the given fully qualified name, e.g. `etcdserverpb.KV`. */
export function serviceType(fullName: string): Service {
  const found = protoRoot().lookup(fullName);
  if (!(found instanceof protobuf.Service)) throw new Error(`proto: no service named ${fullName}`);
  return found;
}

/**
 * Encodes a plain object (camelCase fields; int64 as number, decimal string or Long;
 * bytes as Uint8Array; enums as numbers) to wire bytes. No verification: the value
 * must already have the right field types.
 */
export function encodeMessage(fullName: string, value: object): Uint8Array {
  return messageType(fullName).encode(value).finish();
}

/**
 * Decodes wire bytes into a protobufjs message: absent scalar fields read as their
 * defaults from the prototype, absent message fields as null, int64 as Long, bytes
 * as Buffer views that share memory with `bytes` (copy them to keep them long-term).
 */
export function decodeMessage<T>(fullName: string, bytes: Uint8Array): T {
  return messageType(fullName).decode(bytes) as unknown as T;
}
