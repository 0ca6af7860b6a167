/**
 * The proto field names jsonpb uses. kvfleet's protobufjs root camel-cases field names
 * (`range_end` → `rangeEnd`) and forgets the originals, while etcd's gateway writes the
 * original names (`OrigName`) and reads either those or protoc's lowerCamel `json_name`. So the
 * same .proto files are parsed once more with `keepCase` and matched to the main root by field
 * number.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as proto from '../proto/index.js';
import protobuf from 'protobufjs';
import type { Enum, Field, Type } from 'protobufjs';

export interface FieldNames {
  /** The name written in the .proto file (what jsonpb writes). */
  readonly orig: string;
  /** protoc's json_name: underscores dropped, the next character upper-cased. */
  readonly json: string;
}

let keepCaseRoot: protobuf.Root | undefined;
const cache = new WeakMap<Type, ReadonlyMap<string, FieldNames>>();

function originalRoot(): protobuf.Root {
  if (keepCaseRoot === undefined) {
    const dir = fileURLToPath(proto.PROTO_DIR);
    const r = new protobuf.Root();
    r.resolvePath = (_origin: string, target: string): string => (path.isAbsolute(target) ? target : path.join(dir, target));
    r.loadSync(
      proto.PROTO_FILES.map((f) => path.join(dir, f)),
      { keepCase: true },
    );
    r.resolveAll();
    keepCaseRoot = r;
  }
  return keepCaseRoot;
}

/** protoc's ToJsonName. */
export function jsonName(orig: string): string {
  let out = '';
  let upper = false;
  for (const c of orig) {
    if (c === '_') upper = true;
    else {
      out += upper ? c.toUpperCase() : c;
      upper = false;
    }
  }
  return out;
}

/** Original and JSON names of every field of `type`, keyed by protobufjs's field name. */
export function fieldNames(type: Type): ReadonlyMap<string, FieldNames> {
  let names = cache.get(type);
  if (names === undefined) {
    const twin = originalRoot().lookupType(type.fullName);
    const byId = new Map<number, string>(twin.fieldsArray.map((f) => [f.id, f.name]));
    const m = new Map<string, FieldNames>();
    for (const f of type.fieldsArray) {
      const orig = byId.get(f.id) ?? f.name;
      m.set(f.name, { orig, json: jsonName(orig) });
    }
    names = m;
    cache.set(type, names);
  }
  return names;
}

/** The Go type name of an enum as Go's reflection prints it: `etcdserverpb.RangeRequest_SortOrder`. */
export function goEnumName(e: Enum): string {
  const nested: string[] = [e.name];
  let parent = e.parent;
  while (parent !== null && parent instanceof protobuf.Type) {
    nested.unshift(parent.name);
    parent = parent.parent;
  }
  // What is left is the package namespace; Go's package name is its last segment.
  const pkg = parent?.name ?? '';
  return `${pkg}.${nested.join('_')}`;
}

/** A field's resolved enum, if it is an enum field. */
export function enumOf(field: Field): Enum | undefined {
  return field.resolvedType instanceof protobuf.Enum ? field.resolvedType : undefined;
}

/** A field's resolved message type, if it is a message field. */
export function messageOf(field: Field): Type | undefined {
  return field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
}
